//! Local fakes of GitHub's pull-request comment API (repository `city/cams`, pull request 7)
//! and GitLab's merge-request note API (project 42, merge request 3), holding the comments
//! of one thread in memory and recording every call, for the tests of `cityform comment`
//! and of the CI recipes.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, patch};

pub const TOKEN: &str = "ghs_commenttoken0123456789";

/// The comments of one thread, and every call made to it.
#[derive(Default)]
pub struct Thread {
    pub comments: Vec<(u64, String)>,
    pub next_id: u64,
    pub calls: Vec<String>,
}

pub type Shared = Arc<Mutex<Thread>>;

#[derive(serde::Deserialize)]
struct Page {
    per_page: usize,
    page: usize,
}

#[derive(serde::Deserialize)]
struct Body {
    body: String,
}

/// Whether the request carries the token the way `platform` expects it.
fn authorised(headers: &HeaderMap, gitlab: bool) -> bool {
    if gitlab {
        headers
            .get("PRIVATE-TOKEN")
            .and_then(|value| value.to_str().ok())
            == Some(TOKEN)
    } else {
        headers
            .get("Authorization")
            .and_then(|value| value.to_str().ok())
            == Some(&format!("Bearer {TOKEN}"))
    }
}

fn list(thread: &Shared, page: &Page, gitlab: bool, headers: &HeaderMap) -> (StatusCode, String) {
    if !authorised(headers, gitlab) {
        return (
            StatusCode::UNAUTHORIZED,
            "{\"message\":\"Bad credentials\"}".into(),
        );
    }
    let mut thread = thread.lock().unwrap();
    thread.calls.push(format!("GET page {}", page.page));
    let items: Vec<serde_json::Value> = thread
        .comments
        .iter()
        .skip((page.page - 1) * page.per_page)
        .take(page.per_page)
        .map(|(id, body)| serde_json::json!({"id": id, "body": body}))
        .collect();
    (StatusCode::OK, serde_json::Value::from(items).to_string())
}

fn create(thread: &Shared, body: &str, gitlab: bool, headers: &HeaderMap) -> StatusCode {
    if !authorised(headers, gitlab) {
        return StatusCode::UNAUTHORIZED;
    }
    let Ok(Body { body }) = serde_json::from_str(body) else {
        return StatusCode::BAD_REQUEST;
    };
    let mut thread = thread.lock().unwrap();
    thread.next_id += 1;
    let id = thread.next_id;
    thread.comments.push((id, body));
    thread.calls.push(format!("POST {id}"));
    StatusCode::CREATED
}

fn edit(
    thread: &Shared,
    id: u64,
    body: Option<&str>,
    gitlab: bool,
    headers: &HeaderMap,
) -> StatusCode {
    if !authorised(headers, gitlab) {
        return StatusCode::UNAUTHORIZED;
    }
    let mut thread = thread.lock().unwrap();
    let Some(index) = thread.comments.iter().position(|(known, _)| *known == id) else {
        return StatusCode::NOT_FOUND;
    };
    match body {
        Some(body) => {
            let Ok(Body { body }) = serde_json::from_str(body) else {
                return StatusCode::BAD_REQUEST;
            };
            thread.comments[index].1 = body;
            thread.calls.push(format!("EDIT {id}"));
            StatusCode::OK
        }
        None => {
            thread.comments.remove(index);
            thread.calls.push(format!("DELETE {id}"));
            StatusCode::NO_CONTENT
        }
    }
}

/// A fake of GitHub's issue comment API for `city/cams`, pull request 7.
pub fn github(thread: Shared) -> Router {
    Router::new()
        .route(
            "/repos/city/cams/issues/7/comments",
            get(|State(thread): State<Shared>, Query(page): Query<Page>, headers: HeaderMap| async move {
                list(&thread, &page, false, &headers)
            })
            .post(|State(thread): State<Shared>, headers: HeaderMap, body: String| async move {
                create(&thread, &body, false, &headers)
            }),
        )
        .route(
            "/repos/city/cams/issues/comments/{id}",
            patch(|State(thread): State<Shared>, Path(id): Path<u64>, headers: HeaderMap, body: String| async move {
                edit(&thread, id, Some(&body), false, &headers)
            })
            .delete(|State(thread): State<Shared>, Path(id): Path<u64>, headers: HeaderMap| async move {
                edit(&thread, id, None, false, &headers)
            }),
        )
        .with_state(thread)
}

/// A fake of GitLab's merge request note API for project 42, merge request 3.
pub fn gitlab(thread: Shared) -> Router {
    Router::new()
        .route(
            "/api/v4/projects/42/merge_requests/3/notes",
            get(|State(thread): State<Shared>, Query(page): Query<Page>, headers: HeaderMap| async move {
                list(&thread, &page, true, &headers)
            })
            .post(|State(thread): State<Shared>, headers: HeaderMap, body: String| async move {
                create(&thread, &body, true, &headers)
            }),
        )
        .route(
            "/api/v4/projects/42/merge_requests/3/notes/{id}",
            axum::routing::put(|State(thread): State<Shared>, Path(id): Path<u64>, headers: HeaderMap, body: String| async move {
                edit(&thread, id, Some(&body), true, &headers)
            })
            .delete(|State(thread): State<Shared>, Path(id): Path<u64>, headers: HeaderMap| async move {
                edit(&thread, id, None, true, &headers)
            }),
        )
        .with_state(thread)
}
