//! S3 access through the AWS SDK.

use std::ops::Range;

use aws_sdk_s3::Client;
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::primitives::ByteStream;
use bytes::Bytes;

use super::location::normalize_etag;
use super::{ObjectError, ObjectRef, ObjectTail, Result};

fn classify<E, R>(location: String, error: &SdkError<E, R>) -> ObjectError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + 'static,
{
    let status = match &error {
        SdkError::ServiceError(service) => {
            let raw: &dyn std::any::Any = service.raw();
            raw.downcast_ref::<aws_smithy_runtime_api::http::Response>().map(|response| response.status().as_u16())
        }
        _ => None,
    };
    if let Some(problem) = crate::aws::problem::problem(error).filter(crate::aws::problem::Problem::is_configuration) {
        return ObjectError::Configuration { location, message: problem.describe() };
    }
    let code = error.code().unwrap_or("").to_string();
    let message = match error.message() {
        Some(message) => format!("{code}: {message}"),
        None if !code.is_empty() => code.clone(),
        None => crate::aws::problem::describe(error),
    };
    match (&error, status, code.as_str()) {
        (_, Some(404), _) | (_, _, "NoSuchKey" | "NotFound" | "NoSuchBucket") => ObjectError::NotFound { location },
        (_, Some(403), _) | (_, _, "AccessDenied") => ObjectError::AccessDenied { location, message },
        (SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_), ..)
        | (_, Some(429 | 500..=599), _)
        | (_, _, "SlowDown" | "Throttling" | "ThrottlingException" | "RequestTimeout") => ObjectError::Transient { location, message },
        _ => ObjectError::Other { location, message },
    }
}

fn changed_or(error: ObjectError, object: &ObjectRef) -> ObjectError {
    let precondition_failed = matches!(&error, ObjectError::Other { message, .. }
        if message.starts_with("PreconditionFailed"));
    match (precondition_failed, &object.etag) {
        (true, Some(etag)) => ObjectError::Changed { location: object.to_string(), expected_etag: etag.clone() },
        _ => error,
    }
}

async fn collect(location: &str, body: ByteStream) -> Result<Bytes> {
    body.collect().await.map(|data| data.into_bytes()).map_err(|error| ObjectError::Transient {
        location: location.to_string(),
        message: format!("reading the response body failed: {error}"),
    })
}

/// Parses the total size from `Content-Range: bytes a-b/total`.
fn total_size_from_content_range(content_range: Option<&str>) -> Option<u64> {
    content_range?.rsplit_once('/')?.1.parse().ok()
}

pub(super) async fn get_tail(client: &Client, bucket: &str, key: &str, object: &ObjectRef, num_bytes: u64) -> Result<ObjectTail> {
    let location = object.to_string();
    let mut request = client.get_object().bucket(bucket).key(key).range(format!("bytes=-{num_bytes}"));
    if let Some(version_id) = &object.version_id {
        request = request.version_id(version_id);
    } else if let Some(etag) = &object.etag {
        // The notification's (or listing's) etag: an object that moved on
        // is answered 412 and named as changed, never read in its place.
        request = request.if_match(format!("\"{etag}\""));
    }
    let output = request.send().await.map_err(|error| changed_or(classify(location.clone(), &error), object))?;
    let content_length = output.content_length().map(|length| length as u64);
    let size = total_size_from_content_range(output.content_range()).or(content_length);
    let etag = output.e_tag().map(normalize_etag);
    let version_id = output.version_id().map(str::to_string);
    let bytes = collect(&location, output.body).await?;
    let size = size.unwrap_or(bytes.len() as u64);
    Ok(ObjectTail { bytes, size, etag, version_id })
}

pub(super) async fn get_range(client: &Client, bucket: &str, key: &str, object: &ObjectRef, range: Range<u64>) -> Result<Bytes> {
    let location = object.to_string();
    if range.is_empty() {
        return Ok(Bytes::new());
    }
    let mut request = client.get_object().bucket(bucket).key(key).range(format!("bytes={}-{}", range.start, range.end - 1));
    if let Some(version_id) = &object.version_id {
        request = request.version_id(version_id);
    } else if let Some(etag) = &object.etag {
        request = request.if_match(format!("\"{etag}\""));
    }
    let output = request.send().await.map_err(|error| changed_or(classify(location.clone(), &error), object))?;
    let bytes = collect(&location, output.body).await?;
    if bytes.len() as u64 != range.end - range.start {
        return Err(ObjectError::Other {
            location,
            message: format!("asked for bytes {}..{} and received {} bytes", range.start, range.end, bytes.len()),
        });
    }
    Ok(bytes)
}

pub(super) async fn get_whole(client: &Client, bucket: &str, key: &str) -> Result<Bytes> {
    let location = format!("s3://{bucket}/{key}");
    let output = client.get_object().bucket(bucket).key(key).send().await.map_err(|error| classify(location.clone(), &error))?;
    collect(&location, output.body).await
}

pub(super) async fn put(client: &Client, bucket: &str, key: &str, body: Bytes) -> Result<()> {
    client
        .put_object()
        .bucket(bucket)
        .key(key)
        .body(ByteStream::from(body))
        .send()
        .await
        .map_err(|error| classify(format!("s3://{bucket}/{key}"), &error))?;
    Ok(())
}

pub(super) async fn delete(client: &Client, bucket: &str, key: &str) -> Result<()> {
    client.delete_object().bucket(bucket).key(key).send().await.map_err(|error| classify(format!("s3://{bucket}/{key}"), &error))?;
    Ok(())
}

pub(super) async fn list(client: &Client, bucket: &str, prefix: &str) -> Result<Vec<ObjectRef>> {
    let mut objects = Vec::new();
    let mut collect = |object: ObjectRef| {
        objects.push(object);
        true
    };
    list_after(client, bucket, prefix, None, &mut collect).await?;
    objects.sort();
    Ok(objects)
}

/// Lists the objects under a prefix after `start_after` (exclusive), in key
/// order, page by page, handing each to `visit` until it returns false.
pub(super) async fn list_after(
    client: &Client,
    bucket: &str,
    prefix: &str,
    start_after: Option<&str>,
    visit: &mut (dyn FnMut(ObjectRef) -> bool + Send),
) -> Result<()> {
    let location = format!("s3://{bucket}/{prefix}");
    let request = client.list_objects_v2().bucket(bucket).prefix(prefix).set_start_after(start_after.map(str::to_string));
    let mut pages = request.into_paginator().send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|error| classify(location.clone(), &error))?;
        for entry in page.contents() {
            let Some(key) = entry.key() else { continue };
            if key.ends_with('/') {
                continue;
            }
            let object = ObjectRef::s3(bucket, key).with_etag(entry.e_tag()).with_size(entry.size().map(|size| size as u64));
            if !visit(object) {
                return Ok(());
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_total_size_from_content_range() {
        assert_eq!(total_size_from_content_range(Some("bytes 100-199/5000")), Some(5000));
        assert_eq!(total_size_from_content_range(Some("bytes */5000")), Some(5000));
        assert_eq!(total_size_from_content_range(None), None);
    }
}
