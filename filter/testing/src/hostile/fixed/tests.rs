use super::*;

#[test]
fn every_byte_once_and_secrets_never_literal_before_the_query() {
    let secrets = Secrets {
        token: "S3cr3tTEST".into(),
    };
    let all = cases(
        &secrets,
        &["x-api-key".to_string()],
        &["session_id".to_string()],
    );
    assert_eq!(
        all.iter()
            .filter(|c| c.label.starts_with("fixed bytes: byte 0x"))
            .count(),
        256
    );
    for case in &all {
        let path = String::from_utf8_lossy(&case.path);
        let before_query = path.split('?').next().unwrap_or_default();
        assert!(!before_query.contains("S3cr3t"), "{}: {path}", case.label);
    }
    let query_secrets = all
        .iter()
        .filter(|c| String::from_utf8_lossy(&c.path).contains("S3cr3tTEST"))
        .count();
    assert!(query_secrets >= 8, "{query_secrets}");
    let secret_headers = all
        .iter()
        .flat_map(|c| &c.headers)
        .filter(|h| String::from_utf8_lossy(&h.value).contains("S3cr3tTEST"))
        .count();
    assert!(secret_headers >= 9, "{secret_headers}");
}
