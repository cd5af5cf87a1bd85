//! Errors in the rules files, always naming the file, the line and the reason.

use std::path::{Path, PathBuf};

/// A rules file could not be read or says something invalid.
#[derive(Debug, thiserror::Error)]
pub enum RulesError {
    /// The file could not be read.
    #[error("{}: cannot read: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not valid, at a known line.
    #[error("{}:{line}: {reason}", path.display())]
    Invalid {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// What is wrong, in plain words.
        reason: String,
    },
    /// The word lists could not be compiled.
    #[error("{}: {source}", path.display())]
    Dictionary {
        /// The rules directory.
        path: PathBuf,
        /// Why.
        source: cordon_detect::DictionaryError,
    },
}

/// The source of one rules file, for turning byte offsets into line numbers.
pub(crate) struct Source<'a> {
    pub(crate) path: &'a Path,
    pub(crate) text: &'a str,
}

impl Source<'_> {
    /// An error at byte `offset` of this file.
    pub(crate) fn error_at(&self, offset: usize, reason: impl Into<String>) -> RulesError {
        let offset = offset.min(self.text.len());
        let line = self.text.as_bytes()[..offset]
            .iter()
            .filter(|&&b| b == b'\n')
            .count()
            + 1;
        RulesError::Invalid {
            path: self.path.to_owned(),
            line,
            reason: reason.into(),
        }
    }

    /// Parses the file as TOML into `T`, with the line of any error.
    pub(crate) fn parse<T: serde::de::DeserializeOwned>(&self) -> Result<T, RulesError> {
        toml::from_str(self.text).map_err(|e| {
            let offset = e.span().map_or(0, |s| s.start);
            self.error_at(offset, e.message().trim().to_owned())
        })
    }
}
