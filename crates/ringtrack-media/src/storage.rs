//! Where recordings are kept: files under the data dir by default, or any S3-compatible
//! bucket (`RINGTRACK_STORAGE_URL=s3://bucket/prefix`), through the `object_store` crate,
//! so several nodes share one bucket. Objects are written whole (a reader never sees half a
//! recording) and named by business and call, so keys never collide.

use std::ops::Range;
use std::path::PathBuf;
use std::sync::Arc;

use bytes::Bytes;
use object_store::ObjectStore;
use object_store::aws::AmazonS3Builder;
use object_store::local::LocalFileSystem;
use object_store::path::Path as ObjectPath;

/// How to reach the object store.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StorageConfig {
    /// `s3://bucket/prefix`, a directory path, or `None` for `<data dir>/recordings`.
    pub url: Option<String>,
    pub s3_endpoint: Option<String>,
    pub s3_region: Option<String>,
    pub s3_access_key_id: Option<String>,
    pub s3_secret_access_key: Option<String>,
    /// Plain HTTP to the endpoint (a local S3 for development and tests).
    pub s3_allow_http: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("storage configuration: {0}")]
    Config(String),
    #[error("no object at {0}")]
    NotFound(String),
    #[error("object store: {0}")]
    Failed(String),
}

impl From<object_store::Error> for StorageError {
    fn from(e: object_store::Error) -> Self {
        match e {
            object_store::Error::NotFound { path, .. } => StorageError::NotFound(path),
            other => StorageError::Failed(other.to_string()),
        }
    }
}

#[derive(Clone)]
pub struct Recordings {
    store: Arc<dyn ObjectStore>,
    prefix: ObjectPath,
    /// Where, for logs (never with credentials).
    pub description: String,
}

impl std::fmt::Debug for Recordings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Recordings").field("description", &self.description).finish()
    }
}

impl Recordings {
    pub fn open(config: &StorageConfig, data_dir: &std::path::Path) -> Result<Recordings, StorageError> {
        let config_error = |e: &dyn std::fmt::Display| StorageError::Config(e.to_string());
        match config.url.as_deref() {
            Some(url) if url.starts_with("s3://") => {
                let rest = &url["s3://".len()..];
                let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
                if bucket.is_empty() {
                    return Err(StorageError::Config(format!("{url}: no bucket named")));
                }
                let mut builder = AmazonS3Builder::from_env()
                    .with_bucket_name(bucket)
                    .with_allow_http(config.s3_allow_http)
                    .with_region(config.s3_region.clone().unwrap_or_else(|| "us-east-1".into()));
                if let Some(endpoint) = &config.s3_endpoint {
                    builder = builder.with_endpoint(endpoint);
                }
                if let Some(id) = &config.s3_access_key_id {
                    builder = builder.with_access_key_id(id);
                }
                if let Some(secret) = &config.s3_secret_access_key {
                    builder = builder.with_secret_access_key(secret);
                }
                let store = builder.build().map_err(|e| config_error(&e))?;
                let endpoint = config.s3_endpoint.as_deref().unwrap_or("AWS");
                Ok(Recordings {
                    store: Arc::new(store),
                    prefix: ObjectPath::from(prefix),
                    description: format!("s3://{bucket}/{prefix} at {endpoint}"),
                })
            }
            other => {
                let dir = other.map(PathBuf::from).unwrap_or_else(|| data_dir.join("recordings"));
                std::fs::create_dir_all(&dir)
                    .map_err(|e| StorageError::Config(format!("{}: {e}", dir.display())))?;
                let store = LocalFileSystem::new_with_prefix(&dir).map_err(|e| config_error(&e))?;
                Ok(Recordings {
                    store: Arc::new(store),
                    prefix: ObjectPath::default(),
                    description: dir.display().to_string(),
                })
            }
        }
    }

    fn path(&self, key: &str) -> ObjectPath {
        key.split('/').fold(self.prefix.clone(), |path, part| path.child(part))
    }

    /// Writes an object whole: a reader sees all of it or nothing.
    pub async fn put(&self, key: &str, bytes: Bytes) -> Result<(), StorageError> {
        match self.store.put(&self.path(key), bytes.into()).await {
            Ok(_) => Ok(()),
            // Nothing to find on a write: the bucket itself is missing.
            Err(object_store::Error::NotFound { .. }) => {
                Err(StorageError::Failed(format!("cannot write to {}: no such bucket", self.description)))
            }
            Err(other) => Err(other.into()),
        }
    }

    pub async fn get(&self, key: &str) -> Result<Bytes, StorageError> {
        Ok(self.store.get(&self.path(key)).await?.bytes().await?)
    }

    pub async fn get_range(&self, key: &str, range: Range<u64>) -> Result<Bytes, StorageError> {
        Ok(self.store.get_range(&self.path(key), range).await?)
    }

    pub async fn delete(&self, key: &str) -> Result<(), StorageError> {
        self.store.delete(&self.path(key)).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn local_storage_keeps_whole_objects_and_serves_ranges() {
        let dir = tempfile::tempdir().unwrap();
        let recordings = Recordings::open(&StorageConfig::default(), dir.path()).unwrap();
        recordings.put("b1/c1/call.mp3", Bytes::from_static(b"0123456789")).await.unwrap();
        assert!(dir.path().join("recordings/b1/c1/call.mp3").is_file());
        assert_eq!(recordings.get("b1/c1/call.mp3").await.unwrap(), "0123456789");
        assert_eq!(recordings.get_range("b1/c1/call.mp3", 2..5).await.unwrap(), "234");
        recordings.delete("b1/c1/call.mp3").await.unwrap();
        assert!(matches!(recordings.get("b1/c1/call.mp3").await, Err(StorageError::NotFound(_))));
    }

    #[test]
    fn an_s3_url_needs_a_bucket() {
        let config = StorageConfig { url: Some("s3:///x".into()), ..Default::default() };
        assert!(matches!(
            Recordings::open(&config, std::path::Path::new("/tmp")),
            Err(StorageError::Config(_))
        ));
    }
}
