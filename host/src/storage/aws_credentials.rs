//! Credentials for S3 stores from the AWS SDK's default chain, as the AWS
//! CLI and SDKs find them: environment variables, the shared config and
//! credentials files with `AWS_PROFILE` (static keys, `credential_process`,
//! SSO, assumed roles), web identity, and container and instance roles.
//! object_store asks before every request; the answer is kept until five
//! minutes before it expires.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use aws_config::BehaviorVersion;
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use object_store::CredentialProvider;
use object_store::aws::AwsCredential;
use tokio::sync::{Mutex, OnceCell};

/// Refresh credentials this long before they expire.
const REFRESH_BEFORE_EXPIRY: Duration = Duration::from_secs(300);

/// The default chain behind object_store's credential hook.
#[derive(Debug, Default)]
pub struct AwsChain {
    provider: OnceCell<Option<SharedCredentialsProvider>>,
    cached: Mutex<Option<(Arc<AwsCredential>, Option<SystemTime>)>>,
}

impl AwsChain {
    async fn provider(&self) -> Option<&SharedCredentialsProvider> {
        self.provider
            .get_or_init(|| async {
                aws_config::defaults(BehaviorVersion::latest()).load().await.credentials_provider()
            })
            .await
            .as_ref()
    }
}

#[async_trait::async_trait]
impl CredentialProvider for AwsChain {
    type Credential = AwsCredential;

    async fn get_credential(&self) -> object_store::Result<Arc<AwsCredential>> {
        let mut cached = self.cached.lock().await;
        if let Some((credential, expiry)) = cached.as_ref()
            && expiry.is_none_or(|at| SystemTime::now() + REFRESH_BEFORE_EXPIRY < at)
        {
            return Ok(credential.clone());
        }
        let failed = |reason: String| object_store::Error::Generic { store: "S3", source: reason.into() };
        let provider = self.provider().await.ok_or_else(|| failed("no AWS credentials provider".to_owned()))?;
        let credentials = provider.provide_credentials().await.map_err(|e| {
            failed(format!(
                "no AWS credentials (environment, AWS_PROFILE and ~/.aws/config, SSO, credential_process, \
                 web identity or an instance role): {}",
                aws_error_chain(&e)
            ))
        })?;
        let credential = Arc::new(AwsCredential {
            key_id: credentials.access_key_id().to_owned(),
            secret_key: credentials.secret_access_key().to_owned(),
            token: credentials.session_token().map(str::to_owned),
        });
        *cached = Some((credential.clone(), credentials.expiry()));
        Ok(credential)
    }
}

/// An error with its causes, one line.
fn aws_error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
