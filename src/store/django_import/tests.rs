//! Reading Django user exports: CSV (quoting, NULLs, column order) and JSON (dumpdata and
//! plain rows).

use chrono::{TimeZone, Utc};

use super::*;

const HASH: &str = "pbkdf2_sha256$1000000$cpQp5gtnlCkSbhxzxbtbf0$6NZkN1FqLKUiihqQa82f2vcejSTXGj1KBVJAW9CysRI=";

#[test]
fn csv_export_of_accounts_user() {
    let csv = format!(
        "\u{feff}id,password,last_login,is_superuser,username,first_name,last_name,email,is_staff,is_active,date_joined,role,phone,address\r\n\
         1,{HASH},2024-01-02 03:04:05.123456,1,alice_x,,,alice_x@example.com,1,1,2023-05-06 07:08:09.000000,ADMIN,,\"1 Market St, \"\"Suite\"\" 2\nSF\"\r\n\
         2,!unusable,\\N,0,bob,,,,0,0,2023-05-07T08:09:10Z,CUSTOMER,+1-555-0100,\r\n\
         \r\n"
    );
    let rows = parse_export(&csv, ImportFormat::sniff(&csv)).unwrap();
    assert_eq!(rows.len(), 2);
    let alice = rows[0].as_ref().unwrap();
    assert_eq!((alice.id, alice.username.as_str(), alice.role.as_str()), (1, "alice_x", "ADMIN"));
    assert_eq!(alice.password_hash, HASH);
    assert_eq!(alice.address, "1 Market St, \"Suite\" 2\nSF");
    assert_eq!(alice.last_login.unwrap().timestamp_subsec_micros(), 123_456);
    assert_eq!(alice.date_joined, Utc.with_ymd_and_hms(2023, 5, 6, 7, 8, 9).unwrap());
    assert!(alice.is_active);
    let bob = rows[1].as_ref().unwrap();
    assert_eq!((bob.email.as_str(), bob.is_active, bob.last_login), ("", false, None));
    assert_eq!(bob.phone, "+1-555-0100");
    assert_eq!(bob.password_hash, "!unusable");
}

#[test]
fn python_csv_writer_output() {
    // csv.writer over values_list(): datetimes as str(), booleans as True/False, None as "".
    let csv = "id,password,last_login,username,email,is_active,date_joined,role,phone,address\r\n\
               3,!x,,carol,,False,2023-01-02 03:04:05.123456+00:00,SELLER,,\"a\r\nb\"\r\n";
    let rows = parse_export(csv, ImportFormat::Csv).unwrap();
    let carol = rows[0].as_ref().unwrap();
    assert_eq!((carol.is_active, carol.last_login, carol.address.as_str()), (false, None, "a\r\nb"));
    assert_eq!(carol.date_joined.timestamp_subsec_micros(), 123_456);
    assert_eq!(carol.date_joined.timestamp(), Utc.with_ymd_and_hms(2023, 1, 2, 3, 4, 5).unwrap().timestamp());
    for whole_second in
        ["2023-01-02 03:04:05+00:00", "2023-01-02 05:04:05+02:00", "2023-01-02 03:04:05", "2023-01-02T03:04:05Z"]
    {
        assert_eq!(
            parse_datetime(whole_second),
            Some(Utc.with_ymd_and_hms(2023, 1, 2, 3, 4, 5).unwrap()),
            "{whole_second}"
        );
    }
}

#[test]
fn csv_bad_records_are_reported_by_number() {
    let csv = "username,id,password,is_active,date_joined\nok,1,x,1,\nbad,abc,x,1,\nworse,3,,1,\nodd,4,x,maybe,\nlate,5,x,1,yesterday\n";
    let rows = parse_export(csv, ImportFormat::Csv).unwrap();
    assert!(rows[0].is_ok());
    let errors: Vec<String> = rows[1..].iter().map(|r| r.as_ref().unwrap_err().to_string()).collect();
    assert_eq!(
        errors,
        [
            "record 2: id \"abc\" is not an integer",
            "record 3: password is missing",
            "record 4: is_active \"maybe\" is not a boolean",
            "record 5: date_joined \"yesterday\" is not a datetime",
        ]
    );
}

#[test]
fn csv_without_required_columns_or_with_open_quotes_is_refused() {
    assert!(
        matches!(parse_export("id,username\n1,a\n", ImportFormat::Csv), Err(ImportFormatError::Csv(m)) if m.contains("password"))
    );
    assert!(matches!(parse_export("", ImportFormat::Csv), Err(ImportFormatError::Csv(_))));
    let open = "id,username,password\n1,\"a,x\n";
    assert!(matches!(parse_export(open, ImportFormat::Csv), Err(ImportFormatError::Csv(m)) if m.contains("line 2")));
}

#[test]
fn dumpdata_json() {
    let json = format!(
        r#"[{{"model": "accounts.user", "pk": 7, "fields": {{"password": "{HASH}", "last_login": null,
            "is_superuser": false, "username": "Sam_X", "first_name": "", "last_name": "",
            "email": "sam_x@example.com", "is_staff": false, "is_active": true,
            "date_joined": "2023-05-06T07:08:09.123Z", "role": "SELLER", "phone": "+1", "address": "",
            "groups": [], "user_permissions": []}}}}]"#
    );
    assert_eq!(ImportFormat::sniff(&json), ImportFormat::Json);
    let rows = parse_export(&json, ImportFormat::Json).unwrap();
    let sam = rows[0].as_ref().unwrap();
    assert_eq!((sam.id, sam.username.as_str(), sam.role.as_str(), sam.is_active), (7, "Sam_X", "SELLER", true));
    assert_eq!(sam.date_joined.timestamp_subsec_millis(), 123);
    assert_eq!(sam.last_login, None);
}

#[test]
fn plain_json_rows_and_defaults() {
    let json = r#"[{"id": 3, "username": "x", "password": "argon2$argon2id$v=19$m=102400,t=2,p=8$c2FsdA$aGFzaA", "is_active": 0}]"#;
    let rows = parse_export(json, ImportFormat::Json).unwrap();
    let x = rows[0].as_ref().unwrap();
    assert_eq!((x.role.as_str(), x.email.as_str(), x.is_active), ("CUSTOMER", "", false));
    assert!(matches!(parse_export("{}", ImportFormat::Json), Err(ImportFormatError::Json(_))));
    assert!(matches!(parse_export("[1]", ImportFormat::Json), Err(ImportFormatError::Json(_))));
}
