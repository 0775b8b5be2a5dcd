//! The cart's web page (examples/cart/web) in a real browser: headless Chromium
//! from Debian driven by Selenium (tests/browser/walk_cart.py, both installed by
//! tests/run), against the cart on whichever host `SKIFF_TEST_HOST` names. The
//! access token lives three seconds, so the page's silent renewal happens during
//! the walk. The walk's screenshot is what `make screenshot` copies to docs/.

use std::time::Duration;

use skiff_contract_tests::TestHost;

#[tokio::test]
async fn a_person_can_shop_with_the_cart_page_in_a_browser() {
    let python = std::env::var("SKIFF_TEST_BROWSER_PYTHON")
        .expect("SKIFF_TEST_BROWSER_PYTHON: the Python with Selenium (tests/run installs it)");
    let host = TestHost::start_cart_with(&[("SKIFF_ACCESS_TOKEN_TTL", "3s")]);
    let kind = std::env::var("SKIFF_TEST_HOST").unwrap_or_else(|_| "local".into());
    let target = std::env::var("CARGO_TARGET_DIR")
        .unwrap_or_else(|_| concat!(env!("CARGO_MANIFEST_DIR"), "/../target").into());
    let screenshot = format!("{target}/browser/cart-page-{kind}.png");
    let _ = std::fs::remove_file(&screenshot);
    let walk = tokio::process::Command::new(&python)
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/browser/walk_cart.py"))
        .args([&host.base_url, &screenshot])
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(Duration::from_secs(300), walk)
        .await
        .expect("the walk finished within 5 minutes")
        .expect("the walk started");
    assert!(
        output.status.success(),
        "the walk failed:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    let png = std::fs::read(&screenshot).expect("the walk saved a screenshot");
    assert!(png.starts_with(b"\x89PNG"), "the screenshot is a PNG");
}
