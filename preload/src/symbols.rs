//! Finding the real functions: what `dlsym(RTLD_NEXT, name)` returns, looked
//! up directly in the symbol tables of the objects loaded after this library.
//!
//! `dlsym` costs about 900 instructions a symbol, most of it error-handling
//! setup, and this library resolves its real functions in every process it is
//! loaded into. One walk over the loaded objects with their GNU hash tables
//! costs a fraction of that. Anything this walk cannot settle (an object
//! without a GNU hash table, an IFUNC) is left to `dlsym`.
//!
//! Like `RTLD_NEXT`: objects after this one in load order (which is the
//! global search order: the program, the preloads in order, then their
//! dependencies), the first one that defines the name, its default version.

use core::ffi::{c_char, c_int, c_void};

use libc::{dl_phdr_info, Elf64_Sym, PT_DYNAMIC, PT_LOAD};

const DT_NULL: i64 = 0;
const DT_STRTAB: i64 = 5;
const DT_SYMTAB: i64 = 6;
const DT_GNU_HASH: i64 = 0x6fff_fef5;
const DT_VERSYM: i64 = 0x6fff_fff0;
const STT_FUNC: u8 = 2;
const SHN_UNDEF: u16 = 0;
/// The versym bit that marks a non-default (hidden) version.
const VERSYM_HIDDEN: u16 = 0x8000;

#[repr(C)]
struct Elf64Dyn {
    tag: i64,
    value: u64,
}

/// What the walk is looking for, and what it found.
struct Search<'a> {
    names: &'a [&'a [u8]],
    found: &'a mut [*mut c_void],
    /// Whether the walk has passed this library yet.
    past_self: bool,
    /// An address inside this library.
    marker: usize,
    /// This library's path, as the loader has it.
    own_path: *const c_char,
}

fn gnu_hash(name: &[u8]) -> u32 {
    name.iter().fold(5381u32, |h, &b| h.wrapping_mul(33).wrapping_add(u32::from(b)))
}

/// The tables of one object.
struct Tables {
    base: usize,
    symtab: *const Elf64_Sym,
    strtab: *const c_char,
    gnu_hash: *const u32,
    versym: *const u16,
}

impl Tables {
    /// The object's tables from its dynamic section.
    ///
    /// # Safety
    /// `info` must describe a loaded object (from dl_iterate_phdr).
    unsafe fn of(info: &dl_phdr_info) -> Option<Tables> {
        let base = info.dlpi_addr as usize;
        // SAFETY: the loader's program headers for this object.
        let headers = unsafe { core::slice::from_raw_parts(info.dlpi_phdr, usize::from(info.dlpi_phnum)) };
        let dynamic = headers.iter().find(|h| h.p_type == PT_DYNAMIC)?;
        let mut entry = (base + dynamic.p_vaddr as usize) as *const Elf64Dyn;
        let mut tables = Tables {
            base,
            symtab: core::ptr::null(),
            strtab: core::ptr::null(),
            gnu_hash: core::ptr::null(),
            versym: core::ptr::null(),
        };
        // The loader has already relocated these addresses in place for most
        // objects, but not for all (the vDSO): relocate any that are not.
        let address = |value: u64| if (value as usize) < base { base + value as usize } else { value as usize };
        loop {
            // SAFETY: the dynamic section is an array ending with DT_NULL.
            let Elf64Dyn { tag, value } = unsafe { core::ptr::read(entry) };
            match tag {
                DT_NULL => break,
                DT_SYMTAB => tables.symtab = address(value) as *const Elf64_Sym,
                DT_STRTAB => tables.strtab = address(value) as *const c_char,
                DT_GNU_HASH => tables.gnu_hash = address(value) as *const u32,
                DT_VERSYM => tables.versym = address(value) as *const u16,
                _ => {}
            }
            // SAFETY: not past DT_NULL.
            entry = unsafe { entry.add(1) };
        }
        (!tables.symtab.is_null() && !tables.strtab.is_null() && !tables.gnu_hash.is_null()).then_some(tables)
    }

    /// The default-version function definition of `name`, or None.
    ///
    /// # Safety
    /// The tables must be the live tables of a loaded object.
    unsafe fn lookup(&self, name: &[u8]) -> Option<*mut c_void> {
        // SAFETY (whole body): reads within the object's GNU hash table, symbol table and
        // string table, whose layout the ELF gABI and the GNU hash format define.
        unsafe {
            let header = self.gnu_hash;
            let (buckets_len, symbol_offset, bloom_len, bloom_shift) =
                (*header, *header.add(1), *header.add(2) as usize, *header.add(3));
            let bloom = header.add(4).cast::<u64>();
            let buckets = bloom.add(bloom_len).cast::<u32>();
            let chain = buckets.add(buckets_len as usize);
            let hash = gnu_hash(name);
            let word = *bloom.add((hash as usize / 64) % bloom_len);
            let mask = (1u64 << (hash % 64)) | (1u64 << ((hash >> bloom_shift) % 64));
            if word & mask != mask {
                return None;
            }
            let mut index = *buckets.add((hash % buckets_len) as usize);
            if index < symbol_offset {
                return None;
            }
            loop {
                let chained = *chain.add((index - symbol_offset) as usize);
                if (chained | 1) == (hash | 1) {
                    let symbol = &*self.symtab.add(index as usize);
                    let kind = symbol.st_info & 0xf;
                    let default_version =
                        self.versym.is_null() || *self.versym.add(index as usize) & VERSYM_HIDDEN == 0;
                    if names_match(self.strtab.add(symbol.st_name as usize), name)
                        && symbol.st_shndx != SHN_UNDEF
                        && default_version
                    {
                        // An IFUNC's address is its resolver's: leave those to dlsym.
                        return (kind == STT_FUNC).then(|| (self.base + symbol.st_value as usize) as *mut c_void);
                    }
                }
                if chained & 1 != 0 {
                    return None;
                }
                index += 1;
            }
        }
    }
}

/// Whether the NUL-terminated string at `text` is `name` (without measuring it first).
///
/// # Safety
/// `text` must point to a NUL-terminated string.
unsafe fn names_match(text: *const c_char, name: &[u8]) -> bool {
    // SAFETY: we stop at the first byte that differs, which at the latest is the NUL.
    unsafe {
        for (index, &byte) in name.iter().enumerate() {
            if *text.add(index) as u8 != byte {
                return false;
            }
        }
        *text.add(name.len()) == 0
    }
}

/// Whether `info`'s object contains `address`.
fn contains(info: &dl_phdr_info, address: usize) -> bool {
    // SAFETY: the loader's program headers for this object.
    let headers = unsafe { core::slice::from_raw_parts(info.dlpi_phdr, usize::from(info.dlpi_phnum)) };
    headers.iter().filter(|h| h.p_type == PT_LOAD).any(|h| {
        let start = info.dlpi_addr as usize + h.p_vaddr as usize;
        (start..start + h.p_memsz as usize).contains(&address)
    })
}

unsafe extern "C" fn visit(info: *mut dl_phdr_info, _size: usize, data: *mut c_void) -> c_int {
    // SAFETY: dl_iterate_phdr passes a valid object description and our Search.
    let (info, search) = unsafe { (&*info, &mut *data.cast::<Search<'_>>()) };
    if !search.past_self {
        search.past_self = contains(info, search.marker);
        if search.past_self {
            search.own_path = info.dlpi_name;
        }
        return 0;
    }
    // SAFETY: the object is loaded while dl_iterate_phdr holds the loader's lock.
    let Some(tables) = (unsafe { Tables::of(info) }) else { return 0 };
    for (name, slot) in search.names.iter().zip(search.found.iter_mut()) {
        if slot.is_null() {
            // SAFETY: live tables of a loaded object.
            if let Some(address) = unsafe { tables.lookup(name) } {
                *slot = address;
            }
        }
    }
    c_int::from(search.found.iter().all(|f| !f.is_null()))
}

/// Fills `found[i]` with the next definition of `names[i]` (names without
/// their NUL), leaving null what the walk could not settle. Returns this
/// library's path as the loader has it (its own string, kept while the
/// library is loaded; this one never unloads), or null.
pub fn find_next(names: &[&[u8]], found: &mut [*mut c_void]) -> *const c_char {
    let marker = find_next as *const () as usize;
    let mut search = Search { names, found, past_self: false, marker, own_path: core::ptr::null() };
    // SAFETY: `visit` matches dl_iterate_phdr's callback type and reads `search` only
    // during the call.
    unsafe { libc::dl_iterate_phdr(Some(visit), (&mut search as *mut Search<'_>).cast()) };
    search.own_path
}
