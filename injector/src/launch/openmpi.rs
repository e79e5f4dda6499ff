//! Open MPI (`mpirun`, `mpiexec`, `orterun`): `-x NAME` for each transport
//! variable (the value travels in Open MPI's launch message, read from
//! mpirun's environment), and each app context's program wrapped. The user's
//! own `-x` options stay as they are. Open MPI 4 and 5 (PRRTE) alike: only
//! their option tables differ.

use std::ffi::OsString;

use super::options::Table;
use super::{wrap_app_contexts, Context};
use crate::error::UsageError;

/// `per_context`: Open MPI 4 applies `-x` to its own app context only, so
/// every context gets envtrack's; Open MPI 5 applies it to the whole job.
pub fn rewrite(
    table: &Table,
    per_context: bool,
    args: &[OsString],
    context: &mut Context<'_>,
) -> Result<Vec<OsString>, UsageError> {
    let forward: Vec<OsString> = context.transport.iter().flat_map(|name| ["-x".into(), name.into()]).collect();
    let mut first = true;
    wrap_app_contexts(table, args, context, |parsed, options| {
        if parsed.has("--app") {
            return Err(UsageError::new(format!(
                "{}: the programs of an --app file are not rewritten; list them on the command line",
                table.title
            )));
        }
        if parsed.has("--preload-binary") {
            return Err(UsageError::new(format!(
                "{}: --preload-binary would copy envtrack-inject to the nodes instead of the program",
                table.title
            )));
        }
        let mut out = if first || per_context { forward.clone() } else { Vec::new() };
        first = false;
        out.extend(options.iter().cloned());
        Ok(out)
    })
}

#[cfg(test)]
mod tests {
    use crate::launch::tables::TableKind;
    use envtrack_model::Environment;

    fn rewrite_text(text: &str) -> String {
        crate::launch::rewrite_for_test(TableKind::OpenMpi4, text, &mut Environment::new())
    }

    #[test]
    fn wraps_every_app_context_and_keeps_user_options() {
        assert_eq!(
            rewrite_text("-n 2 --host a,b -x USER_VAR --mca btl self,tcp ./app -n 5 : -n 1 other x"),
            "-x T_PARTS -x T_0 -n 2 --host a,b -x USER_VAR --mca btl self,tcp /i apply --carried -- ./app -n 5 : -x T_PARTS -x T_0 -n 1 /i apply --carried -- other x"
        );
        assert_eq!(
            rewrite_text("-np 2 --oversubscribe prog"),
            "-x T_PARTS -x T_0 -np 2 --oversubscribe /i apply --carried -- prog"
        );
    }
}
