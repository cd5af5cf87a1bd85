//! Attached files by type: text, HTML, office documents, PDF, archives.
