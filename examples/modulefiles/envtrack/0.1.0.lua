-- -*- lua -*-
-- An example Lmod modulefile for envtrack 0.1.0, for a site that installs envtrack once on a
-- shared filesystem (scripts/install.sh PREFIX, or the release tarball unpacked there) and makes
-- it available to its users as `module load envtrack`.
--
-- Copy it into a directory on MODULEPATH as envtrack/0.1.0.lua and set `root` to that install.
-- The tree is relocatable: bin/envtrack-inject finds lib/libenvtrack.so by itself, and the library
-- finds bin/envtrack-inject (for the launchers it routes). Its path must have no ':' and no space.

local root = "/shared/apps/envtrack/0.1.0"

whatis("Name: envtrack")
whatis("Version: 0.1.0")
whatis("Category: tools, environment")
whatis("Description: carries environment changes made by programs into every child and "
    .. "through launchers (mpirun, srun, ssh) to every remote worker")

help([[
envtrack records the environment variables a program changes (setenv, a shell's export,
Python's os.environ) and carries them, with directives such as "prepend /opt/tool/lib to
LD_LIBRARY_PATH", into every child and through every launcher (mpirun, mpiexec, srun, ssh,
pdsh) to every remote worker, with no -x or --export lists to maintain.

Loading this module puts envtrack-inject on PATH and its manual on MANPATH, and preloads
libenvtrack.so (LD_PRELOAD) into every program started afterwards.

  envtrack-inject -- COMMAND      run one command under envtrack (without the preload)
  envtrack-inject show            what is tracked in this process
  envtrack-inject doctor          check the library, the C library and the launchers
  man envtrack-inject             the manual

To run a command without envtrack:  ENVTRACK=off COMMAND
To turn it off for this shell's children:  export ENVTRACK=off  (or: module unload envtrack)
]])

prepend_path("PATH", pathJoin(root, "bin"))
prepend_path("MANPATH", pathJoin(root, "share/man"))
-- man-db searches its default directories only where MANPATH has an empty element: keep one, or
-- `man ls` stops working once MANPATH is set (Lmod removes it again on unload).
append_path("MANPATH", "")
-- The completions: bash-completion and fish look under each XDG_DATA_DIRS entry (zsh users add
-- <root>/share/zsh/site-functions to fpath themselves). Unset, the variable means
-- /usr/local/share:/usr/share: those stay after envtrack's (and after an unload, which means the
-- same as unset).
if (os.getenv("XDG_DATA_DIRS") or "") == "" then
    append_path("XDG_DATA_DIRS", "/usr/local/share")
    append_path("XDG_DATA_DIRS", "/usr/share")
end
prepend_path("XDG_DATA_DIRS", pathJoin(root, "share"))

-- The preload. ld.so splits LD_PRELOAD at ':' and at spaces alike (ld.so(8)), and envtrack reads
-- both. This uses ':', Lmod's default delimiter, as other modules that preload a library do by
-- default: Lmod then keeps each module's entry separate, so loading and unloading modules in any
-- order adds and removes exactly their own libraries. (A space would be prepend_path{"LD_PRELOAD",
-- lib, delim=" "}; mixing delimiters between modules makes Lmod treat "a.so b.so" as one entry.)
-- envtrack puts itself first in the LD_PRELOAD its children get, keeping the others after it.
--
-- When to preload:
--   * As here, in the module: every program a user starts after `module load envtrack` is
--     tracked, on login nodes too. Make it a default module (LMOD_SYSTEM_DEFAULT_MODULES, or a
--     StdEnv module that loads it) to activate it site-wide. Batch jobs inherit it with the
--     submitting shell's environment (sbatch's default --export=ALL).
--   * Only in jobs: leave LD_PRELOAD out of the module (delete the line below) and have jobs run
--     `envtrack-inject -- COMMAND` (or a job prolog export LD_PRELOAD, e.g. a Slurm TaskProlog
--     printing "export LD_PRELOAD=<root>/lib/libenvtrack.so"): login-node shells and tools then
--     run without it.
-- A user opts out with ENVTRACK=off (also 0, no, false) for a command or, exported, for
-- everything under that shell; the library then does nothing and its children start without it.
prepend_path("LD_PRELOAD", pathJoin(root, "lib/libenvtrack.so"))
