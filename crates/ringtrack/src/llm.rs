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
