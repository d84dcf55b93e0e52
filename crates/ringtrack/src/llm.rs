//! The optional LLM lead scorer: any OpenAI-compatible chat-completions endpoint asked for
//! one JSON object. Its prompt and the strict reading of its answer are the domain's; any
//! failure falls back to the rule scorer (the caller's choice, in the pipeline).

use std::time::Duration;

use ringtrack_domain::scoring::{CallFacts, Score, llm_prompt, parse_llm_answer};
use serde_json::json;

pub struct LlmScorer {
    http: reqwest::Client,
    base_url: String,
    api_key: Option<String>,
    model: String,
}

impl LlmScorer {
    pub fn new(base_url: &str, api_key: Option<String>, model: &str) -> LlmScorer {
        LlmScorer {
            http: reqwest::Client::builder().timeout(Duration::from_secs(60)).build().expect("a TLS client"),
            base_url: base_url.trim_end_matches('/').to_owned(),
            api_key,
            model: model.to_owned(),
        }
    }

    pub async fn score(&self, facts: &CallFacts, transcript: Option<&str>) -> Result<Score, String> {
        let body = json!({
            "model": self.model,
            "temperature": 0,
            "response_format": {"type": "json_object"},
            "messages": [{"role": "user", "content": llm_prompt(facts, transcript)}],
        });
        let mut request = self.http.post(format!("{}/v1/chat/completions", self.base_url)).json(&body);
        if let Some(key) = &self.api_key {
            request = request.bearer_auth(key);
        }
        let response = request.send().await.map_err(|e| e.without_url().to_string())?;
        if !response.status().is_success() {
            return Err(format!("the LLM answered {}", response.status()));
        }
        let answer: serde_json::Value = response.json().await.map_err(|e| e.without_url().to_string())?;
        let content =
            answer["choices"][0]["message"]["content"].as_str().ok_or("no message in the answer")?;
        parse_llm_answer(content)
    }
}

#[cfg(test)]
mod tests {
    use axum::Json;
    use axum::http::StatusCode;
    use axum::routing::post;
    use ringtrack_domain::scoring::{CallOutcome, Category};
    use serde_json::Value;

    use super::*;

    /// A chat-completions stub: answers `content`, or 500 when there is none.
    async fn stub(content: Option<&'static str>) -> String {
        let app = axum::Router::new().route(
            "/v1/chat/completions",
            post(move |Json(request): Json<Value>| async move {
                assert_eq!(request["response_format"]["type"], "json_object");
                assert!(
                    request["messages"][0]["content"]
                        .as_str()
                        .unwrap()
                        .contains("Transcript:\nI need a quote")
                );
                match content {
                    Some(content) => {
                        (StatusCode::OK, Json(json!({"choices": [{"message": {"content": content}}]})))
                    }
                    None => (StatusCode::INTERNAL_SERVER_ERROR, Json(json!({"error": "down"}))),
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        base
    }

    fn facts() -> CallFacts {
        CallFacts {
            status: CallOutcome::Answered,
            duration_seconds: 90,
            first_time_caller: true,
            paid: false,
        }
    }

    #[tokio::test]
    async fn the_llm_answer_becomes_a_score_and_failures_are_errors() {
        let good = LlmScorer::new(
            &stub(Some(r#"{"score": 72, "reasons": ["asked for a quote"]}"#)).await,
            None,
            "m",
        );
        let score = good.score(&facts(), Some("I need a quote")).await.unwrap();
        assert_eq!((score.score, score.category), (72, Category::Good));
        let nonsense = LlmScorer::new(&stub(Some("I think it is a good lead")).await, None, "m");
        assert!(nonsense.score(&facts(), Some("I need a quote")).await.is_err());
        let down = LlmScorer::new(&stub(None).await, None, "m");
        assert!(down.score(&facts(), Some("I need a quote")).await.unwrap_err().contains("500"));
    }
}
