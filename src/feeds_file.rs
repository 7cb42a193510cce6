//! Editing feeds.toml in place for `add`, `remove` and `import opml`:
//! comments, order and layout are kept (toml_edit). Pure functions, text in
//! and text out; the caller validates the result with
//! [`crate::config::Config::parse`] before writing it, so a file syndic
//! writes always loads.

use toml_edit::{value, Array, ArrayOfTables, DocumentMut, Item, Table};

/// A feed to append to feeds.toml.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedEntry {
    pub url: String,
    pub name: Option<String>,
    pub topics: Vec<String>,
}

/// Why feeds.toml could not be edited.
#[derive(Debug, thiserror::Error)]
pub enum EditError {
    #[error("it is not valid TOML: {0}")]
    Syntax(String),
    #[error("its `feeds` is not written as [[feeds]] tables")]
    NotTables,
}

fn parse(text: &str) -> Result<DocumentMut, EditError> {
    text.parse::<DocumentMut>().map_err(|e| EditError::Syntax(e.message().trim().replace('\n', " ")))
}

/// The `[[feeds]]` array of `doc`, created at the end if there is none.
fn feeds_mut(doc: &mut DocumentMut) -> Result<&mut ArrayOfTables, EditError> {
    if !doc.contains_key("feeds") {
        doc.insert("feeds", Item::ArrayOfTables(ArrayOfTables::new()));
    }
    doc["feeds"].as_array_of_tables_mut().ok_or(EditError::NotTables)
}

/// Appends `feeds` as `[[feeds]]` tables after the existing ones, each
/// preceded by a blank line.
///
/// ```
/// use syndic::feeds_file::{append_feeds, FeedEntry};
/// let text = "# my feeds\n[[feeds]]\nurl = \"https://a.example/feed\" # first\n";
/// let feed = FeedEntry { url: "https://b.example/rss".into(), name: Some("B".into()), topics: vec!["tech".into()] };
/// assert_eq!(
///     append_feeds(text, &[feed]).unwrap(),
///     "# my feeds\n[[feeds]]\nurl = \"https://a.example/feed\" # first\n\n[[feeds]]\nurl = \"https://b.example/rss\"\nname = \"B\"\ntopics = [\"tech\"]\n"
/// );
/// ```
pub fn append_feeds(text: &str, feeds: &[FeedEntry]) -> Result<String, EditError> {
    let mut doc = parse(text)?;
    // Comments after the last table belong before the new ones (a file of
    // comments only, like `syndic init`'s, is all trailing text).
    let trailing = doc.trailing().as_str().unwrap_or("").to_owned();
    doc.set_trailing("");
    let array = feeds_mut(&mut doc)?;
    for (i, f) in feeds.iter().enumerate() {
        let mut table = Table::new();
        table.insert("url", value(f.url.as_str()));
        if let Some(name) = &f.name {
            table.insert("name", value(name.as_str()));
        }
        if !f.topics.is_empty() {
            table.insert("topics", value(f.topics.iter().map(String::as_str).collect::<Array>()));
        }
        if i == 0 && !trailing.is_empty() {
            let gap = if trailing.ends_with("\n\n") || !trailing.ends_with('\n') { "" } else { "\n" };
            table.decor_mut().set_prefix(format!("{trailing}{gap}"));
        } else if !text.trim().is_empty() || !array.is_empty() {
            table.decor_mut().set_prefix("\n");
        }
        array.push(table);
    }
    Ok(doc.to_string())
}

/// Removes the `index`th `[[feeds]]` table (the order of
/// [`crate::config::Config::feeds`]). Returns the new text, or `None` if
/// there is no such table.
pub fn remove_feed_at(text: &str, index: usize) -> Result<Option<String>, EditError> {
    let mut doc = parse(text)?;
    if !doc.contains_key("feeds") {
        return Ok(None);
    }
    let array = feeds_mut(&mut doc)?;
    if index >= array.len() {
        return Ok(None);
    }
    let removed = array.remove(index);
    // Comments above the first feed are usually the file's own header: they
    // stay (on the next feed, else at the end); those above another feed go
    // with it.
    if index == 0 {
        let prefix = removed.decor().prefix().and_then(|p| p.as_str()).unwrap_or("").trim_start().to_owned();
        if !prefix.is_empty() {
            match array.get_mut(0) {
                Some(next) => {
                    let own = next.decor().prefix().and_then(|p| p.as_str()).unwrap_or("").trim_start().to_owned();
                    next.decor_mut().set_prefix(format!("{prefix}{own}"));
                }
                None => {
                    let trailing = doc.trailing().as_str().unwrap_or("").to_owned();
                    doc.set_trailing(format!("{prefix}{trailing}"));
                }
            }
        }
    }
    Ok(Some(doc.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feed(url: &str) -> FeedEntry {
        FeedEntry { url: url.into(), name: None, topics: vec![] }
    }

    #[test]
    fn appends_after_comments_only() {
        let out = append_feeds("# starter\n# [[feeds]]\n", &[feed("https://a.example/")]).unwrap();
        assert_eq!(out, "# starter\n# [[feeds]]\n\n[[feeds]]\nurl = \"https://a.example/\"\n");
    }

    #[test]
    fn appends_into_an_empty_file_and_after_other_tables() {
        assert_eq!(
            append_feeds("", &[feed("https://a.example/")]).unwrap(),
            "[[feeds]]\nurl = \"https://a.example/\"\n"
        );
        let text = "[settings]\ntimeout = \"10s\" # short\n\n[topics.cpec]\nkeywords = [\"CPEC\"]\n";
        let out = append_feeds(text, &[feed("https://a.example/"), feed("https://b.example/")]).unwrap();
        assert_eq!(
            out,
            format!("{text}\n[[feeds]]\nurl = \"https://a.example/\"\n\n[[feeds]]\nurl = \"https://b.example/\"\n")
        );
    }

    #[test]
    fn removes_only_the_given_table_and_keeps_comments() {
        let text = "# top\n[[feeds]]\nurl = \"https://a.example/\"\n\n# the b feed\n[[feeds]]\nurl = \"https://b.example/\"\nname = \"B\"\n\n[[feeds]] # c\nurl = \"https://c.example/\"\n";
        let out = remove_feed_at(text, 1).unwrap().unwrap();
        assert_eq!(
            out,
            "# top\n[[feeds]]\nurl = \"https://a.example/\"\n\n[[feeds]] # c\nurl = \"https://c.example/\"\n"
        );
        assert_eq!(remove_feed_at(text, 3).unwrap(), None);
        let first = remove_feed_at(text, 0).unwrap().unwrap();
        assert!(first.starts_with("# top\n# the b feed\n[[feeds]]\nurl = \"https://b.example/\""), "{first}");
        let only = remove_feed_at("# mine\n[[feeds]]\nurl = \"https://a.example/\"\n", 0).unwrap().unwrap();
        assert_eq!(only, "# mine\n");
        assert_eq!(remove_feed_at("", 0).unwrap(), None);
    }

    #[test]
    fn refuses_what_it_cannot_edit() {
        assert!(matches!(append_feeds("feeds = 3\n", &[feed("https://a.example/")]), Err(EditError::NotTables)));
        assert!(matches!(append_feeds("[[feeds]\n", &[]), Err(EditError::Syntax(_))));
    }
}
