//! The cart example (`examples/cart`) as its users see it, on whichever host
//! `SKIFF_TEST_HOST` names: the cart in the session, checkout as a job, orders as
//! the caller's records, an `order.placed` notification, all next to Skiff's own
//! contract with the same login and tokens.

use reqwest::{Method, Response};
use serde_json::{Value, json};
use skiff_contract_tests::{
    Account, PASSWORD, TestHost, assert_problem, assert_unauthorized, eventually,
};

async fn put_item(
    host: &TestHost,
    account: &Account,
    sku: &str,
    body: Value,
    if_match: Option<&str>,
) -> Response {
    let request = host
        .request(Method::PUT, &format!("/cart/items/{sku}"))
        .bearer_auth(&account.access_token)
        .json(&body);
    match if_match {
        Some(tag) => request.header("if-match", tag),
        None => request,
    }
    .send()
    .await
    .expect("send")
}

/// `GET /cart`: the body and the ETag.
async fn cart(host: &TestHost, account: &Account) -> (Value, String) {
    let response = host.get_auth("/cart", &account.access_token).await;
    assert_eq!(response.status(), 200);
    let etag = response.headers()["etag"].to_str().unwrap().to_owned();
    (response.json().await.unwrap(), etag)
}

async fn checkout(host: &TestHost, account: &Account, key: Option<&str>) -> Response {
    let request = host
        .request(Method::POST, "/cart/checkout")
        .bearer_auth(&account.access_token);
    match key {
        Some(key) => request.header("idempotency-key", key),
        None => request,
    }
    .send()
    .await
    .expect("send")
}

async fn job_status(host: &TestHost, account: &Account, job_id: &str) -> Value {
    eventually("the checkout job to finish", 60, || async {
        let job = host
            .get_json_auth(&format!("/jobs/{job_id}"), &account.access_token)
            .await;
        (job["status"] == "succeeded" || job["status"] == "failed").then_some(job)
    })
    .await
}

#[tokio::test]
async fn the_cart_lives_in_the_session_and_is_versioned_with_it() {
    let host = TestHost::start_cart();
    let account = host.account().await;
    assert_unauthorized(host.request(Method::GET, "/cart").send().await.unwrap()).await;

    let (empty, first_tag) = cart(&host, &account).await;
    assert_eq!(empty["items"], json!([]));
    assert_eq!(first_tag, format!("\"{}\"", empty["version"]));

    let added = put_item(&host, &account, "TEA-01", json!({"qty": 3}), None).await;
    assert_eq!(added.status(), 200);
    let added: Value = added.json().await.unwrap();
    assert_eq!(added["items"], json!([{"sku": "TEA-01", "qty": 3}]));
    // A writer holding the first version loses; one holding the current wins.
    assert_problem(
        put_item(&host, &account, "CUP", json!({"qty": 1}), Some(&first_tag)).await,
        412,
    )
    .await;
    let (_, current) = cart(&host, &account).await;
    let both = put_item(&host, &account, "CUP", json!({"qty": 1}), Some(&current)).await;
    assert_eq!(both.status(), 200);
    assert_eq!(
        both.json::<Value>().await.unwrap()["items"],
        json!([{"sku": "CUP", "qty": 1}, {"sku": "TEA-01", "qty": 3}])
    );

    for bad in [
        json!({"qty": 0}),
        json!({"qty": 100}),
        json!({"qty": "3"}),
        json!({"qty": 1.5}),
        json!({}),
    ] {
        assert_problem(put_item(&host, &account, "TEA-01", bad, None).await, 400).await;
    }
    assert_problem(
        put_item(&host, &account, "no.dots", json!({"qty": 1}), None).await,
        400,
    )
    .await;

    let removed = host
        .request(Method::DELETE, "/cart/items/CUP")
        .bearer_auth(&account.access_token)
        .send()
        .await
        .unwrap();
    assert_eq!(removed.status(), 200);
    assert_eq!(
        removed.json::<Value>().await.unwrap()["items"],
        json!([{"sku": "TEA-01", "qty": 3}])
    );

    // Another login is another session with its own cart; the cart is in the
    // session data Skiff's own routes show.
    let tokens = host.login_ok(&account.email).await;
    let other = tokens["access_token"].as_str().unwrap();
    let other_cart = host.get_json_auth("/cart", other).await;
    assert_eq!(other_cart["items"], json!([]));
    let session = host.get_json_auth("/session", &account.access_token).await;
    assert_eq!(session["data"]["cart"]["items"], json!({"TEA-01": 3}));

    // Logging out ends the session, and the cart with it.
    let logout = host
        .post_auth(
            "/auth/logout",
            &account.access_token,
            &json!({"refresh_token": account.refresh_token}),
        )
        .await;
    assert_eq!(logout.status(), 204);
    assert_unauthorized(host.get_auth("/cart", &account.access_token).await).await;
}

#[tokio::test]
async fn checkout_places_one_order_and_empties_the_cart() {
    let host = TestHost::start_cart();
    let account = host.account().await;
    assert_problem(checkout(&host, &account, None).await, 409).await;

    put_item(&host, &account, "TEA-01", json!({"qty": 2}), None).await;
    put_item(&host, &account, "CUP", json!({"qty": 1}), None).await;
    let placed = checkout(&host, &account, Some("checkout-1")).await;
    assert_eq!(placed.status(), 202);
    let location = placed.headers()["location"].to_str().unwrap().to_owned();
    let job_id = placed.json::<Value>().await.unwrap()["job_id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(location, format!("/jobs/{job_id}"));
    // The same key answers the same job: a retried request places no second order.
    let again = checkout(&host, &account, Some("checkout-1")).await;
    assert_eq!(again.status(), 202);
    assert_eq!(again.json::<Value>().await.unwrap()["job_id"], job_id);

    let job = job_status(&host, &account, &job_id).await;
    assert_eq!(job["status"], "succeeded", "{job}");
    assert_eq!(job["kind"], "checkout");
    let (emptied, _) = cart(&host, &account).await;
    assert_eq!(emptied["items"], json!([]));
    // A retry after the job ran, the cart now empty, still gets the same job.
    let after_run = checkout(&host, &account, Some("checkout-1")).await;
    assert_eq!(after_run.status(), 202);
    assert_eq!(after_run.json::<Value>().await.unwrap()["job_id"], job_id);

    let orders = host.get_json_auth("/orders", &account.access_token).await;
    let items = orders["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{orders}");
    assert_eq!(items[0]["order_id"], job_id);
    assert_eq!(
        items[0]["items"],
        json!([{"sku": "CUP", "qty": 1}, {"sku": "TEA-01", "qty": 2}])
    );
    assert!(items[0]["created_at"].as_str().unwrap().ends_with('Z'));

    let notice = eventually("the order.placed notification", 60, || async {
        host.notifications_of(&account.access_token, "order.placed")
            .await
            .into_iter()
            .next()
    })
    .await;
    assert_eq!(notice["order_id"], job_id);
    assert_eq!(notice["item_count"], 3);

    // A second order lists first; other users see none of them.
    put_item(&host, &account, "JAM", json!({"qty": 1}), None).await;
    let second = checkout(&host, &account, None).await;
    let second_id = second.json::<Value>().await.unwrap()["job_id"]
        .as_str()
        .unwrap()
        .to_owned();
    job_status(&host, &account, &second_id).await;
    let orders = host.get_json_auth("/orders", &account.access_token).await;
    let ids: Vec<&Value> = orders["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| &o["order_id"])
        .collect();
    assert_eq!(ids, [&json!(second_id), &json!(job_id)]);
    let stranger = host.account().await;
    let theirs = host.get_json_auth("/orders", &stranger.access_token).await;
    assert_eq!(theirs["items"], json!([]));
    assert_problem(
        host.get_auth("/orders?cursor=nonsense", &account.access_token)
            .await,
        400,
    )
    .await;
}

#[tokio::test]
async fn deleting_the_account_erases_the_orders_with_everything_else() {
    let host = TestHost::start_cart();
    let account = host.account().await;
    put_item(&host, &account, "TEA-01", json!({"qty": 1}), None).await;
    let placed = checkout(&host, &account, None).await;
    let job_id = placed.json::<Value>().await.unwrap()["job_id"]
        .as_str()
        .unwrap()
        .to_owned();
    job_status(&host, &account, &job_id).await;

    let requested = host
        .delete_account(&account.access_token, Some(&json!({"password": PASSWORD})))
        .await;
    assert_eq!(requested.status(), 202);
    let deletion_id = requested.json::<Value>().await.unwrap()["deletion_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let notice = eventually("the deletion code", 60, || async {
        host.notifications_of(&account.access_token, "account.deletion_requested")
            .await
            .into_iter()
            .find(|n| n["deletion_id"] == deletion_id)
    })
    .await;
    let confirmed = host
        .post_auth(
            "/account/deletion/confirm",
            &account.access_token,
            &json!({"deletion_id": deletion_id, "code": notice["code"]}),
        )
        .await;
    assert_eq!(confirmed.status(), 202);
    // The workflow erases the records before it deletes the user, and stops at a
    // step that fails: the email is free again only once the orders are gone.
    eventually("the account to be gone", 90, || async {
        (host.register(&account.email, PASSWORD).await.status() == 201).then_some(())
    })
    .await;
    assert_unauthorized(host.get_auth("/orders", &account.access_token).await).await;
}
