//! Prints the whole contract's OpenAPI 3.1 document: `make openapi` writes it to
//! `docs/openapi.json`. A host serves the same document at `GET /openapi.json`,
//! with its own server URL, and without `POST /auth/federated` when no issuer is
//! trusted.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let document = skiff::api::openapi::contract_document()?;
    println!("{}", serde_json::to_string_pretty(&document)?);
    Ok(())
}
