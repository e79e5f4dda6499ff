//! Finding the real functions: what `dlsym(RTLD_NEXT, name)` returns, looked
//! up directly in the symbol tables of the objects loaded after this library.
//!
//! `dlsym` costs about 900 instructions a symbol, most of it error-handling
//! setup, and this library resolves its real functions in every process it is
//! loaded into. One walk over the loaded objects with their hash tables costs a
//! fraction of that. And before glibc 2.34 `dlsym` is in libdl.so.2, which this
//! library does not load into every process: there the walk must settle
//! everything on its own, so it reads both hash table formats
//! (GNU's and the older System V one) and hands back an IFUNC's resolver.
//!
//! Like `RTLD_NEXT`: objects after this one in load order (which is the
//! global search order: the program, the preloads in order, then their
//! dependencies), the first one that defines the name, its default version,
//! with the loader's rules for what counts as a definition.

use core::ffi::{c_char, c_int, c_void};

use libc::{dl_phdr_info, Elf64_Sym, PT_DYNAMIC, PT_LOAD};

const DT_NULL: i64 = 0;
const DT_HASH: i64 = 4;
const DT_STRTAB: i64 = 5;
const DT_SYMTAB: i64 = 6;
const DT_GNU_HASH: i64 = 0x6fff_fef5;
const DT_VERSYM: i64 = 0x6fff_fff0;
const STT_NOTYPE: u8 = 0;
const STT_FUNC: u8 = 2;
const STT_GNU_IFUNC: u8 = 10;
const STB_LOCAL: u8 = 0;
const SHN_UNDEF: u16 = 0;
/// The versym bit that marks a non-default (hidden) version.
const VERSYM_HIDDEN: u16 = 0x8000;

#[repr(C)]
struct Elf64Dyn {
    tag: i64,
    value: u64,
}

/// What the walk found for one name.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Next {
    /// No object after this library defines it (as far as the walk has gone).
    Undefined,
    /// A function at this address.
    Function(*mut c_void),
    /// An IFUNC: the address of its resolver, which returns the function's.
    Resolver(*mut c_void),
    /// The first object that may define it could not be searched (no hash
    /// table), or its definition is of a kind only the loader should settle.
    AskLoader,
}

/// What the walk is looking for, and what it found.
struct Search<'a> {
    names: &'a [&'a [u8]],
    found: &'a mut [Next],
    /// Whether the walk has passed this library yet.
    past_self: bool,
    /// Whether the C library's objects are searched, wherever they are,
    /// instead of the objects after this library.
    c_library: bool,
    /// How many objects after this library the walk saw.
    objects_after: usize,
    /// An address inside this library.
    marker: usize,
    /// This library's path, as the loader has it.
    own_path: *const c_char,
}

fn gnu_hash(name: &[u8]) -> u32 {
    name.iter().fold(5381u32, |h, &b| h.wrapping_mul(33).wrapping_add(u32::from(b)))
}

/// The System V ABI's hash function.
fn sysv_hash(name: &[u8]) -> u32 {
    name.iter().fold(0u32, |h, &b| {
        let h = (h << 4).wrapping_add(u32::from(b));
        let high = h & 0xf000_0000;
        (h ^ (high >> 24)) & !high
    })
}

/// The tables of one object.
struct Tables {
    base: usize,
    symtab: *const Elf64_Sym,
    strtab: *const c_char,
    gnu_hash: *const u32,
    sysv_hash: *const u32,
    versym: *const u16,
}

impl Tables {
    /// The object's tables from its dynamic section; None if it has none to search.
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
            sysv_hash: core::ptr::null(),
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
                DT_HASH => tables.sysv_hash = address(value) as *const u32,
                DT_VERSYM => tables.versym = address(value) as *const u16,
                _ => {}
            }
            // SAFETY: not past DT_NULL.
            entry = unsafe { entry.add(1) };
        }
        let searchable = !tables.gnu_hash.is_null() || !tables.sysv_hash.is_null();
        (!tables.symtab.is_null() && !tables.strtab.is_null() && searchable).then_some(tables)
    }

    /// What this object defines as `name`: None if nothing.
    ///
    /// # Safety
    /// The tables must be the live tables of a loaded object.
    #[inline(always)]
    unsafe fn lookup(&self, name: &[u8]) -> Option<Next> {
        // SAFETY: the caller's guarantee.
        unsafe {
            if self.gnu_hash.is_null() {
                self.lookup_sysv(name)
            } else {
                self.lookup_gnu(name)
            }
        }
    }

    /// [`Tables::lookup`] through the GNU hash table.
    ///
    /// # Safety
    /// As for [`Tables::lookup`], and the object has a GNU hash table.
    #[inline(always)]
    unsafe fn lookup_gnu(&self, name: &[u8]) -> Option<Next> {
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
                    if let Some(next) = self.definition(index, name) {
                        return Some(next);
                    }
                }
                if chained & 1 != 0 {
                    return None;
                }
                index += 1;
            }
        }
    }

    /// [`Tables::lookup`] through the System V hash table (an object linked with
    /// `--hash-style=sysv`, as some older toolchains and vendors' libraries are).
    ///
    /// # Safety
    /// As for [`Tables::lookup`], and the object has a System V hash table.
    unsafe fn lookup_sysv(&self, name: &[u8]) -> Option<Next> {
        // SAFETY (whole body): reads within the object's hash table (nbucket, nchain, the
        // buckets, the chains), as the System V ABI lays it out, and its symbol table.
        unsafe {
            let header = self.sysv_hash;
            let (buckets_len, chain_len) = (*header, *header.add(1));
            if buckets_len == 0 {
                return None;
            }
            let buckets = header.add(2);
            let chain = buckets.add(buckets_len as usize);
            let mut index = *buckets.add((sysv_hash(name) % buckets_len) as usize);
            // At most chain_len steps, even through a corrupt (cyclic) chain.
            for _ in 0..chain_len {
                if index == 0 || index >= chain_len {
                    return None;
                }
                if let Some(next) = self.definition(index, name) {
                    return Some(next);
                }
                index = *chain.add(index as usize);
            }
            None
        }
    }

    /// Symbol `index` if it is a definition of `name` the loader would take.
    ///
    /// # Safety
    /// `index` is within the object's symbol table.
    #[inline(always)]
    unsafe fn definition(&self, index: u32, name: &[u8]) -> Option<Next> {
        // SAFETY: the caller's guarantee; the version table has an entry per symbol.
        unsafe {
            let symbol = &*self.symtab.add(index as usize);
            let default_version = self.versym.is_null() || *self.versym.add(index as usize) & VERSYM_HIDDEN == 0;
            if symbol.st_shndx == SHN_UNDEF
                || symbol.st_value == 0
                || symbol.st_info >> 4 == STB_LOCAL
                || !default_version
                || !names_match(self.strtab.add(symbol.st_name as usize), name)
            {
                return None;
            }
            let address = (self.base + symbol.st_value as usize) as *mut c_void;
            Some(match symbol.st_info & 0xf {
                STT_FUNC | STT_NOTYPE => Next::Function(address),
                STT_GNU_IFUNC => Next::Resolver(address),
                _ => Next::AskLoader,
            })
        }
    }
}

/// Whether the NUL-terminated string at `text` is `name` (without measuring it first).
///
/// # Safety
/// `text` must point to a NUL-terminated string.
#[inline(always)]
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
    if contains(info, search.marker) {
        search.past_self = true;
        search.own_path = info.dlpi_name;
        return 0;
    }
    if search.past_self {
        search.objects_after += 1;
    }
    if search.c_library {
        // SAFETY: the loader's NUL-terminated name for the object (empty for the program).
        let name = unsafe { crate::sys::c_bytes(info.dlpi_name) };
        let base = name.rsplit(|&b| b == b'/').next().unwrap_or(name);
        if !(base.starts_with(b"libc.so") || base.starts_with(b"libdl.so")) {
            return 0;
        }
    } else if !search.past_self {
        return 0;
    }
    // SAFETY: the object is loaded while dl_iterate_phdr holds the loader's lock.
    let tables = unsafe { Tables::of(info) };
    for (name, slot) in search.names.iter().zip(search.found.iter_mut()) {
        if *slot == Next::Undefined {
            *slot = match &tables {
                // SAFETY: live tables of a loaded object.
                Some(tables) => unsafe { tables.lookup(name) }.unwrap_or(Next::Undefined),
                // An object without a dynamic section defines nothing; one with symbols but no
                // hash table only the loader can read.
                None if has_dynamic(info) => Next::AskLoader,
                None => Next::Undefined,
            };
        }
    }
    c_int::from(search.found.iter().all(|next| *next != Next::Undefined))
}

/// Whether `info`'s object has a dynamic section.
fn has_dynamic(info: &dl_phdr_info) -> bool {
    // SAFETY: the loader's program headers for this object.
    let headers = unsafe { core::slice::from_raw_parts(info.dlpi_phdr, usize::from(info.dlpi_phnum)) };
    headers.iter().any(|h| h.p_type == PT_DYNAMIC)
}

/// What a walk saw besides the names' definitions.
pub struct Walk {
    /// This library's path as the loader has it (its own string, kept while
    /// the library is loaded; this one never unloads), or null.
    pub own_path: *const c_char,
    /// How many objects were loaded after this library: none when it was
    /// loaded last (by dlopen), where `RTLD_NEXT` means its own dependencies.
    pub objects_after: usize,
}

/// Fills `found[i]` with what follows this library as `names[i]` (names
/// without their NUL).
pub fn find_next(names: &[&[u8]], found: &mut [Next]) -> Walk {
    walk(names, found, false)
}

fn walk(names: &[&[u8]], found: &mut [Next], c_library: bool) -> Walk {
    found.fill(Next::Undefined);
    let marker = find_next as *const () as usize;
    let mut search =
        Search { names, found, past_self: false, c_library, objects_after: 0, marker, own_path: core::ptr::null() };
    // SAFETY: `visit` matches dl_iterate_phdr's callback type and reads `search` only
    // during the call.
    unsafe { libc::dl_iterate_phdr(Some(visit), (&mut search as *mut Search<'_>).cast()) };
    Walk { own_path: search.own_path, objects_after: search.objects_after }
}

/// The C library's own `dlsym` (libc.so.6 from glibc 2.34, libdl.so.2
/// before), if loaded: never another library's wrapper of it, which may hold
/// a lock across the `dlopen` that is loading this library, and which
/// would evaluate `RTLD_NEXT` from its own place.
pub fn find_dlsym() -> Option<DlsymFn> {
    let mut next = [Next::Undefined];
    walk(&[b"dlsym"], &mut next, true);
    match next[0] {
        // SAFETY: the symbol dlsym of the C library, whose signature this is.
        Next::Function(address) => Some(unsafe { core::mem::transmute::<*mut c_void, DlsymFn>(address) }),
        _ => None,
    }
}

pub type DlsymFn = unsafe extern "C" fn(*mut c_void, *const c_char) -> *mut c_void;
