//! The structure of an XLS file (a Compound File Binary, MS-CFB), checked before calamine reads
//! it: calamine follows sector chains until they end, so a file whose chains loop grows its
//! buffer until memory runs out (found by `infra/dev fuzz`: a 6 KB file asked for 2 GB). Every
//! chain of the file allocation table and of the mini table must end, and point only at sectors
//! the file has: then no stream calamine reads can be longer than the file itself.

use super::FileError;

const SIGNATURE: [u8; 8] = [0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1];
const HEADER: usize = 512;
/// Sector ids above this are markers (free, end of chain, FAT or DIFAT sector), not sectors.
const MAX_REGULAR: u32 = 0xFFFF_FFFA;
const DIFAT_SECTOR: u32 = 0xFFFF_FFFC;

fn u16_at(bytes: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([bytes[at], bytes[at + 1]])
}

fn u32_at(bytes: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]])
}

fn broken(why: &str) -> FileError {
    FileError::Unreadable(format!("the XLS file's structure is broken: {why}"))
}

/// Whether the compound file's chains all end inside it; a file that is not a compound file
/// is left to calamine, which refuses it.
pub fn check(bytes: &[u8]) -> Result<(), FileError> {
    if bytes.len() < HEADER || bytes[..8] != SIGNATURE {
        return Ok(());
    }
    let sector_size = match u16_at(bytes, 0x1E) {
        9 => 512,
        12 => 4096,
        _ => return Err(broken("its sector size is neither 512 nor 4096 bytes")),
    };
    let sectors = (bytes.len() / sector_size) as u32;
    let sector = |id: u32| -> Result<&[u8], FileError> {
        let start = (id as usize + 1) * sector_size;
        bytes
            .get(start..start + sector_size)
            .ok_or_else(|| broken("a chain points past the end of the file"))
    };
    let ids = |data: &[u8]| -> Vec<u32> { data.chunks_exact(4).map(|c| u32_at(c, 0)).collect() };

    // The FAT's sectors: 109 in the header, the rest in the DIFAT chain (one id per sector for
    // its successor), at most one DIFAT sector per sector of the file.
    let mut fat_sectors: Vec<u32> = ids(&bytes[0x4C..HEADER]);
    let mut difat = u32_at(bytes, 0x44);
    let mut seen = 0;
    while difat <= MAX_REGULAR {
        seen += 1;
        if seen > sectors {
            return Err(broken("its DIFAT chain loops"));
        }
        let mut entries = ids(sector(difat)?);
        difat = entries.pop().unwrap_or(u32::MAX);
        fat_sectors.extend(entries);
    }
    let mut fat = Vec::new();
    for id in fat_sectors.into_iter().filter(|id| *id < DIFAT_SECTOR) {
        fat.extend(ids(sector(id)?));
    }
    ends(&fat, "its allocation table")?;

    // The mini table and the directory, chains of the FAT (which now ends).
    let chain = |start: u32, what: &str| -> Result<Vec<u8>, FileError> {
        let mut data = Vec::new();
        let mut id = start;
        while id <= MAX_REGULAR {
            let next = fat
                .get(id as usize)
                .ok_or_else(|| broken(&format!("{what} starts past the allocation table")))?;
            data.extend_from_slice(sector(id)?);
            id = *next;
        }
        Ok(data)
    };
    let mini = ids(&chain(u32_at(bytes, 0x3C), "its mini allocation table")?);
    ends(&mini, "its mini allocation table")?;
    // Every stream starts in the table that holds it: the root's (the mini stream) and large
    // ones in the FAT, small ones in the mini table.
    let cutoff = u64::from(u32_at(bytes, 0x38));
    for entry in chain(u32_at(bytes, 0x30), "its directory")?.chunks_exact(128) {
        let (kind, start) = (entry[0x42], u32_at(entry, 0x74));
        let size = u64::from_le_bytes(entry[0x78..0x80].try_into().expect("8 bytes"));
        let table = match kind {
            5 => &fat,
            2 if size >= cutoff => &fat,
            2 => &mini,
            _ => continue,
        };
        if start <= MAX_REGULAR && start as usize >= table.len() {
            return Err(broken("a stream starts past its allocation table"));
        }
    }
    Ok(())
}

/// Every chain of `table` ends: each entry is a marker or the index of another entry, and
/// following them never comes back (each id has one successor: a cycle is found by walking
/// each chain once, marking what is done).
fn ends(table: &[u32], name: &str) -> Result<(), FileError> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        Walking,
        Ends,
    }
    let mut marks = vec![Mark::New; table.len()];
    for start in 0..table.len() {
        let mut path = Vec::new();
        let mut at = start;
        while marks[at] == Mark::New {
            marks[at] = Mark::Walking;
            path.push(at);
            let next = table[at];
            if next > MAX_REGULAR {
                break;
            }
            if next as usize >= table.len() {
                return Err(broken(&format!("{name} points past its end")));
            }
            at = next as usize;
            if marks[at] == Mark::Walking {
                return Err(broken(&format!("a chain of {name} loops")));
            }
        }
        for done in path {
            marks[done] = Mark::Ends;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(path: &str) -> Vec<u8> {
        std::fs::read(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../tests/fixtures")
                .join(path),
        )
        .unwrap()
    }

    #[test]
    fn a_real_workbook_passes_and_the_broken_ones_the_fuzzer_found_are_refused() {
        assert!(check(&fixture("import/equipe-presse.xls")).is_ok());
        // Its directory chain loops: calamine grew a buffer to 2 GB.
        let error = check(&fixture("fuzz/xls-looping-directory-chain.xls")).unwrap_err();
        assert!(error.to_string().contains("loops"), "{error}");
        // Its directory starts past the allocation table: calamine indexed out of bounds.
        let error = check(&fixture("fuzz/xls-chain-past-the-table.xls")).unwrap_err();
        assert!(error.to_string().contains("past"), "{error}");
    }

    #[test]
    fn tables_that_loop_or_point_outside_are_told_from_tables_that_end() {
        const END: u32 = 0xFFFF_FFFE;
        const FREE: u32 = 0xFFFF_FFFF;
        for (table, ok) in [
            (vec![1, 2, END], true),
            (vec![END, FREE, 0, 2], true),
            (vec![1, 0], false),
            (vec![0], false),
            (vec![1, 2, 3, 1], false),
            (vec![END, 7], false),
            (vec![], true),
        ] {
            assert_eq!(ends(&table, "t").is_ok(), ok, "{table:?}");
        }
    }
}
