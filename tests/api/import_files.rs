//! The import pipeline on real-shaped exports (tests/fixtures/import, written by generate.py
//! there) and on hostile files.

use std::io::{Cursor, Write};

use mailing::import::{Analyzer, ImportOptions, ImportReport, ImportedContact, dry_run};

use crate::support::repo_root;

fn analyze(bytes: Vec<u8>, options: &ImportOptions) -> (Vec<ImportedContact>, ImportReport) {
    let mut analyzer =
        Analyzer::open(Box::new(Cursor::new(bytes)), options).expect("the file opens");
    let mut report = analyzer.report().clone();
    let mut contacts = Vec::new();
    while let Some(mut batch) = analyzer.next_batch(2, 0).unwrap() {
        report.add(&batch);
        contacts.append(&mut batch.contacts);
    }
    (contacts, report)
}

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(repo_root().join("tests/fixtures/import").join(name)).unwrap()
}

fn find<'a>(contacts: &'a [ImportedContact], email: &str) -> &'a ImportedContact {
    contacts
        .iter()
        .find(|c| c.email.normalized() == email)
        .unwrap_or_else(|| panic!("{email} not imported"))
}

#[test]
fn a_french_team_file_reads_the_same_as_csv_xlsx_xls_ods_and_unicode_text() {
    for (name, format, header_row, first_data_row) in [
        ("equipe-presse.csv", "csv", 3, 4),
        ("equipe-presse.xlsx", "xlsx", 3, 4),
        ("equipe-presse.xls", "xls", 3, 4),
        ("equipe-presse.ods", "ods", 3, 4),
        ("unicode-text.txt", "csv", 1, 2),
    ] {
        let (contacts, report) = analyze(fixture(name), &ImportOptions::default());
        let detected = report.detected.as_ref().unwrap();
        assert_eq!(
            serde_json::to_value(detected.format).unwrap(),
            format,
            "{name}"
        );
        assert_eq!(detected.header_row, header_row, "{name}");
        assert_eq!(
            (report.rows, report.valid, report.invalid, report.duplicates),
            (6, 4, 2, 1),
            "{name}"
        );
        assert_eq!(report.valid + report.invalid, report.rows);
        let emails: Vec<&str> = contacts.iter().map(|c| c.email.normalized()).collect();
        assert_eq!(
            emails,
            [
                "amelie.durand@ouest-presse.example",
                "luc.moreau@radio-bleue.example",
                "sarah.petit@webzine.example"
            ],
            "{name}"
        );
        assert_eq!(contacts[0].row, first_data_row, "{name}");
        let amelie = &contacts[0];
        assert_eq!(
            amelie.fields.first_name.as_deref(),
            Some("Amélie"),
            "{name}"
        );
        assert_eq!(amelie.fields.last_name.as_deref(), Some("Durand"), "{name}");
        assert_eq!(
            amelie.fields.company.as_deref(),
            Some("Ouest Presse"),
            "{name}"
        );
        assert_eq!(
            amelie.fields.tags.as_slice(),
            ["quotidien", "ouest"],
            "{name}"
        );
        assert_eq!(
            contacts[2].fields.company.as_deref(),
            Some("=HYPERLINK(\"http://evil.example\")"),
            "{name}: a formula is kept as text, verbatim"
        );
        let codes: Vec<(u64, &str, Option<&str>)> = report
            .errors
            .iter()
            .map(|e| (e.row, e.code.as_str(), e.field.as_deref()))
            .collect();
        let (no_address, long_phone) = (first_data_row + 4, first_data_row + 6);
        assert_eq!(
            codes,
            [
                (no_address, "missing_email", Some("email")),
                (long_phone, "invalid_field", Some("phone"))
            ],
            "{name}"
        );
    }
}

#[test]
fn a_dry_run_counts_exactly_the_contacts_an_import_builds() {
    let mut names: Vec<_> = std::fs::read_dir(repo_root().join("tests/fixtures/import"))
        .unwrap()
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .filter(|name| !name.ends_with(".py"))
        .collect();
    names.sort();
    assert!(names.len() >= 8, "{names:?}");
    for name in names {
        let (contacts, built) = analyze(fixture(&name), &ImportOptions::default());
        let counted = dry_run(
            Box::new(Cursor::new(fixture(&name))),
            &ImportOptions::default(),
        )
        .unwrap();
        assert_eq!(counted.created, contacts.len() as u64, "{name}");
        assert_eq!(
            ImportReport {
                created: counted.created,
                ..built
            },
            counted,
            "{name}"
        );
    }
}

#[test]
fn a_google_contacts_export_maps_its_columns() {
    let (contacts, report) = analyze(fixture("google-contacts.csv"), &ImportOptions::default());
    assert_eq!(
        (report.rows, report.valid, report.invalid, report.duplicates),
        (4, 3, 1, 1)
    );
    let camille = find(&contacts, "camille.roux@radio-example.fr");
    assert_eq!(camille.fields.first_name.as_deref(), Some("Camille"));
    assert_eq!(camille.fields.position.as_deref(), Some("Programmatrice"));
    assert_eq!(camille.fields.phone.as_deref(), Some("+33 6 12 34 56 78"));
    assert_eq!(camille.fields.tags.as_slice(), ["presse", "radio"]);
    assert_eq!(camille.fields.metadata["Address 1 - City"], "Paris");
    assert_eq!(camille.fields.metadata["E-mail 1 - Label"], "* Work");
    let jonas = find(&contacts, "jonas.weber@zeitung.example");
    assert_eq!(
        jonas.fields.metadata["Notes"], "Multi-line note:\nline two, with comma",
        "quoted newlines survive"
    );
    assert_eq!(report.errors[0].code, "invalid_email");
    assert_eq!(report.errors[0].row, 4);
}

#[test]
fn a_french_outlook_export_in_windows_1252_keeps_its_accents() {
    let (contacts, report) = analyze(fixture("outlook-fr.csv"), &ImportOptions::default());
    let detected = report.detected.as_ref().unwrap();
    assert_eq!(
        (detected.encoding.as_deref(), detected.delimiter.as_deref()),
        (Some("windows-1252"), Some(";"))
    );
    let elodie = find(&contacts, "e.lefevre@zenith-nantes.example");
    assert_eq!(elodie.fields.first_name.as_deref(), Some("Élodie"));
    assert_eq!(elodie.fields.company.as_deref(), Some("Zénith de Nantes"));
    assert_eq!(
        elodie.fields.position.as_deref(),
        Some("Directrice artistique")
    );
    assert_eq!(elodie.fields.tags.as_slice(), ["salles", "ouest"]);
    let francois = find(&contacts, "f.duboeuf@festival-ete.example");
    assert_eq!(
        francois.fields.last_name.as_deref(),
        Some("Dubœuf"),
        "the second address column is used"
    );
    assert_eq!(report.invalid, 1);
}

#[test]
fn a_mailchimp_export_carries_its_consent_proof() {
    let (contacts, _) = analyze(fixture("mailchimp.csv"), &ImportOptions::default());
    let lea = find(&contacts, "fan.one@mail.example");
    let proof = lea.proof.as_ref().unwrap();
    assert_eq!(proof["optin_time"], "2024-03-01 10:00:00");
    assert_eq!(proof["optin_ip"], "203.0.113.7");
    assert_eq!(proof["confirm_time"], "2024-03-01 10:02:11");
    assert_eq!(lea.fields.tags.as_slice(), ["newsletter", "vip"]);
    assert_eq!(lea.fields.metadata["MEMBER_RATING"], "4");
}

#[test]
fn an_explicit_mapping_and_sheet_choice_win() {
    let options = ImportOptions {
        mapping: [
            ("Courriel".to_owned(), mailing::import::Target::Ignore),
            ("Société".to_owned(), mailing::import::Target::Email),
        ]
        .into_iter()
        .collect(),
        ..ImportOptions::default()
    };
    let csv = "Courriel;Société\nnot-this@x.example;this@y.example\n";
    let (contacts, _) = analyze(csv.as_bytes().to_vec(), &options);
    assert_eq!(contacts[0].email.normalized(), "this@y.example");

    let archives = ImportOptions {
        sheet: Some("archives".to_owned()),
        ..ImportOptions::default()
    };
    let (contacts, report) = analyze(fixture("equipe-presse.xlsx"), &archives);
    assert_eq!(contacts[0].email.normalized(), "old@archive.example");
    assert_eq!(report.detected.unwrap().sheet.as_deref(), Some("Archives"));
    let missing = ImportOptions {
        sheet: Some("Nope".to_owned()),
        ..ImportOptions::default()
    };
    assert_eq!(
        Analyzer::open(
            Box::new(Cursor::new(fixture("equipe-presse.xlsx"))),
            &missing
        )
        .err()
        .unwrap()
        .code(),
        "unknown_sheet"
    );
}

fn zip_bomb() -> Vec<u8> {
    let mut writer = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    writer.start_file("[Content_Types].xml", options).unwrap();
    writer.write_all(b"<Types/>").unwrap();
    writer.start_file("xl/workbook.xml", options).unwrap();
    writer.write_all(b"<workbook/>").unwrap();
    writer
        .start_file("xl/worksheets/sheet1.xml", options)
        .unwrap();
    // 20 MiB of blanks deflate about a thousandfold: only a bomb expands like that.
    let zeros = vec![b' '; 1024 * 1024];
    for _ in 0..20 {
        writer.write_all(&zeros).unwrap();
    }
    writer.finish().unwrap().into_inner()
}

/// A spreadsheet archive of `entries`, deflated.
fn archive(entries: &[(&str, &str)]) -> Vec<u8> {
    let mut writer = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (name, content) in entries {
        writer.start_file(*name, options).unwrap();
        writer.write_all(content.as_bytes()).unwrap();
    }
    writer.finish().unwrap().into_inner()
}

/// Under a kilobyte; 98 million cells once its repeats are expanded: under calamine's own cap
/// (100 million), and about 3 GB as the one range calamine would build.
fn ods_repeat_bomb() -> Vec<u8> {
    archive(&[
        ("mimetype", "application/vnd.oasis.opendocument.spreadsheet"),
        (
            "META-INF/manifest.xml",
            r#"<?xml version="1.0"?><manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0"><manifest:file-entry manifest:full-path="/" manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/><manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/></manifest:manifest>"#,
        ),
        (
            "content.xml",
            r#"<?xml version="1.0" encoding="UTF-8"?><office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"><office:body><office:spreadsheet><table:table table:name="Feuille1"><table:table-row table:number-rows-repeated="6000"><table:table-cell table:number-columns-repeated="16384" office:value-type="string"><text:p>email@example.com</text:p></table:table-cell></table:table-row></table:table></office:spreadsheet></office:body></office:document-content>"#,
        ),
    ])
}

/// One cell at the sheet's last column: a row as wide as Excel allows.
fn xlsx_far_cell() -> Vec<u8> {
    archive(&[
        (
            "[Content_Types].xml",
            r#"<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>"#,
        ),
        (
            "_rels/.rels",
            r#"<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>"#,
        ),
        (
            "xl/workbook.xml",
            r#"<?xml version="1.0"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="Feuil1" sheetId="1" r:id="rId1"/></sheets></workbook>"#,
        ),
        (
            "xl/_rels/workbook.xml.rels",
            r#"<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>"#,
        ),
        (
            "xl/worksheets/sheet1.xml",
            r#"<?xml version="1.0"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><dimension ref="A1:XFD2"/><sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>email</t></is></c></row><row r="2"><c r="XFD2" t="inlineStr"><is><t>a@b.example</t></is></c></row></sheetData></worksheet>"#,
        ),
    ])
}

#[test]
fn hostile_files_are_refused_clearly() {
    let garbage: Vec<u8> = (0..200_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 11) as u8)
        .collect();
    let unclosed = [
        b"email\na@b.example,\"".as_slice(),
        &vec![b'x'; 3 * 1024 * 1024],
    ]
    .concat();
    let wide = format!("email{}\n", ",x".repeat(1_000_000));
    let bomb = zip_bomb();
    assert!(bomb.len() < 100 * 1024, "the bomb is small: {}", bomb.len());
    let ods_bomb = ods_repeat_bomb();
    assert!(
        ods_bomb.len() < 1024,
        "the ODS bomb is small: {}",
        ods_bomb.len()
    );
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("binary garbage", garbage, "unreadable_file"),
        ("an ODS repeat bomb", ods_bomb, "too_many_cells"),
        (
            "an XLSX cell at the last column",
            xlsx_far_cell(),
            "too_many_columns",
        ),
        ("zip bomb disguised as XLSX", bomb, "zip_bomb"),
        (
            "a zip that is no spreadsheet",
            {
                let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
                w.start_file("hello.txt", zip::write::SimpleFileOptions::default())
                    .unwrap();
                w.write_all(b"hi").unwrap();
                w.finish().unwrap().into_inner()
            },
            "unreadable_file",
        ),
        ("an unclosed quote", unclosed, "record_too_large"),
        ("a million columns", wide.into_bytes(), "too_many_columns"),
        (
            "no email column",
            b"name,city\nZoe,Paris\n".to_vec(),
            "no_email_column",
        ),
        ("empty", Vec::new(), "empty_file"),
    ];
    for (case, bytes, code) in cases {
        let error =
            dry_run(Box::new(Cursor::new(bytes)), &ImportOptions::default()).expect_err(case);
        assert_eq!(error.code(), code, "{case}: {error}");
        assert!(!error.to_string().is_empty());
    }
}

#[test]
fn a_100_kb_cell_refuses_only_its_row() {
    let csv = format!(
        "email,notes\na@b.example,{}\nc@d.example,short\n",
        "n".repeat(100_000)
    );
    let report = dry_run(
        Box::new(Cursor::new(csv.into_bytes())),
        &ImportOptions::default(),
    )
    .unwrap();
    assert_eq!((report.rows, report.valid, report.invalid), (2, 1, 1));
    assert_eq!(report.errors[0].code, "cell_too_large");
    assert_eq!(report.errors[0].row, 2);
}
