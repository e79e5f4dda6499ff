//! The tracked set as hooks and child builds see it: the changes this
//! process inherited (its snapshot's records, read in place:
//! [`crate::loaded`]) and those it made since ([`table`]).
//!
//! Each tracked name has one id: an inherited name its record's number, any
//! other name the number of its table entry after the records. When this
//! process changes an inherited variable, the table entry holds the current
//! change and the record points at it (its shadow). Lock-free and
//! allocation-free to read, like both parts.

use envtrack_model::Change;

use crate::loaded::Loaded;
use crate::sys::Key;
use crate::table;

/// One tracked variable.
#[derive(Clone, Copy)]
pub struct Tracked {
    pub id: usize,
    pub name: &'static [u8],
    /// The change inherited for it.
    pub inherited: Option<Change>,
    /// Its change now (None: back at its base).
    pub change: Option<Change>,
}

/// The tracked set, with ids fixed when the view is made: what is tracked
/// later (another thread's setenv) has an id of `capacity()` or more.
pub struct View<'l> {
    loaded: &'l Loaded,
    records: usize,
    entries: usize,
}

impl<'l> View<'l> {
    pub fn new(loaded: &'l Loaded) -> View<'l> {
        View { loaded, records: loaded.records.count(), entries: table::len() }
    }

    /// Ids below this were tracked when the view was made.
    pub fn capacity(&self) -> usize {
        self.records + self.entries
    }

    fn of_record(&self, record: crate::loaded::InheritedRecord) -> Tracked {
        let change = match self.loaded.records.shadow(record.number) {
            Some(entry) if entry < table::len() => table::entry(entry).change(),
            _ => Some(record.change),
        };
        Tracked { id: record.number, name: record.name, inherited: Some(record.change), change }
    }

    /// The tracked variable `key` names.
    #[inline(always)]
    pub fn find(&self, key: Key<'_>) -> Option<Tracked> {
        if self.capacity() == 0 {
            // Nothing was tracked when the view was made; what another thread tracks since is
            // seen as the untracked variable it was then.
            return None;
        }
        if let Some(record) = self.loaded.records.find(key) {
            return Some(self.of_record(record));
        }
        let (number, entry) = table::find(key)?;
        Some(Tracked {
            id: self.records + number,
            name: entry.name,
            inherited: entry.inherited,
            change: entry.change(),
        })
    }

    /// Every variable tracked when the view was made.
    pub fn iter(&self) -> impl Iterator<Item = Tracked> + '_ {
        let inherited = self.loaded.records.iter().map(|record| self.of_record(record));
        let own = (0..self.entries).map(|number| (number, table::entry(number))).filter(|(_, e)| e.record.is_none());
        inherited.chain(own.map(|(number, entry)| Tracked {
            id: self.records + number,
            name: entry.name,
            inherited: entry.inherited,
            change: entry.change(),
        }))
    }
}

/// Sets the change of `key`'s name (the caller holds the environment lock).
pub fn update(
    guard: &crate::lock::Guard,
    loaded: &Loaded,
    key: Key<'_>,
    found: Option<Tracked>,
    change: Option<Change>,
) {
    let record = found.filter(|t| t.id < loaded.records.count()).map(|t| t.id);
    let new = table::New { inherited: found.and_then(|t| t.inherited), record: record.map(|r| r as u32) };
    let entry = table::update(guard, key, new, change);
    if let (Some(record), Some(entry)) = (record, entry) {
        if loaded.records.shadow(record).is_none() {
            loaded.records.set_shadow(record, entry);
        }
    }
}

/// A carried value put into the environment at load: tracked as inherited
/// and set, and linked to a tracked record of the same name if the snapshot
/// has one (envtrack writes none beside a carried value), so that the name
/// is tracked once.
pub fn carried(guard: &crate::lock::Guard, loaded: &Loaded, key: Key<'_>) {
    let record = View::new(loaded).find(key).filter(|t| t.id < loaded.records.count());
    let found =
        Tracked { id: record.map_or(usize::MAX, |t| t.id), name: &[], inherited: Some(Change::Set), change: None };
    update(guard, loaded, key, Some(found), Some(Change::Set));
}
