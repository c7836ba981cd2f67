//! What several integration tests share.

/// Every required KYC field, with values the gateway accepts.
pub fn complete_kyc() -> Vec<(&'static str, &'static str)> {
    vec![
        ("legal_name", "山田 太郎"),
        ("legal_name_kana", "ヤマダ タロウ"),
        ("date_of_birth", "1985-04-12"),
        ("nationality", "jp"),
        ("occupation", "会社員"),
        ("purpose_of_use", "shopping"),
        ("postal_code", "100-0001"),
        ("prefecture", "tokyo"),
        ("city", "千代田区"),
        ("address_line1", "千代田1-1"),
        ("phone", "+81312345678"),
        ("id_document_type", "passport"),
        ("id_document_number", "TK1234567"),
    ]
}
