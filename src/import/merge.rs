//! The pages of one AWS CLI output file, merged: the plain output (the CLI follows `NextToken` itself, or
//! `--no-paginate` gave one page), several documents one after another (a loop over `--starting-token`
//! appending to one file), or a JSON array of such documents. `NextToken` and every other key besides the
//! command's list are ignored (docs/reference/ec2.md §10.2).

use serde_json::{Deserializer, Value};

use super::error::{ImportError, Location};

/// The `aws ec2` commands whose output `vpcsim import` reads, told apart by their top-level list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Command {
    DescribeSubnets,
    DescribeNetworkInterfaces,
    GetSubnetCidrReservations,
    DescribeInstances,
}

impl Command {
    const ALL: [Command; 4] = [
        Command::DescribeSubnets,
        Command::DescribeNetworkInterfaces,
        Command::GetSubnetCidrReservations,
        Command::DescribeInstances,
    ];

    /// The top-level key holding the command's list.
    pub fn key(self) -> &'static str {
        match self {
            Command::DescribeSubnets => "Subnets",
            Command::DescribeNetworkInterfaces => "NetworkInterfaces",
            Command::GetSubnetCidrReservations => "SubnetIpv4CidrReservations",
            Command::DescribeInstances => "Reservations",
        }
    }

    pub fn cli(self) -> &'static str {
        match self {
            Command::DescribeSubnets => "aws ec2 describe-subnets",
            Command::DescribeNetworkInterfaces => "aws ec2 describe-network-interfaces",
            Command::GetSubnetCidrReservations => "aws ec2 get-subnet-cidr-reservations",
            Command::DescribeInstances => "aws ec2 describe-instances",
        }
    }

    /// The command whose output has a top-level `key`, if any.
    fn owning(key: &str) -> Option<Command> {
        Command::ALL.into_iter().find(|c| {
            c.key() == key
                || (*c == Command::GetSubnetCidrReservations && key == "SubnetIpv6CidrReservations")
        })
    }
}

/// One entry of a command's list, with its JSON path in the file.
pub struct Item {
    pub path: String,
    pub value: Value,
}

/// Every entry of `command`'s list over all the pages of `text`, in file order.
pub fn items(file: &str, text: &str, command: Command) -> Result<Vec<Item>, ImportError> {
    let mut out = Vec::new();
    for (prefix, page) in pages(file, text)? {
        let Value::Object(map) = &page else {
            return Err(ImportError::at(
                file,
                root(&prefix),
                format!(
                    "expected the JSON object `{}` prints, found {}",
                    command.cli(),
                    kind(&page)
                ),
            ));
        };
        let Some(list) = map.get(command.key()) else {
            let other = map.keys().find_map(|k| Command::owning(k));
            let message = match other {
                Some(o) => format!(
                    "this looks like the output of `{}` (it has a top-level `{}`); expected the output of `{}` (a top-level `{}` list)",
                    o.cli(),
                    o.key(),
                    command.cli(),
                    command.key()
                ),
                None => format!(
                    "no top-level `{}` list: not the output of `{}` (top-level keys: {})",
                    command.key(),
                    command.cli(),
                    if map.is_empty() {
                        "none".to_string()
                    } else {
                        map.keys().cloned().collect::<Vec<_>>().join(", ")
                    }
                ),
            };
            return Err(if prefix.is_empty() {
                ImportError::file(file, message)
            } else {
                ImportError::at(file, root(&prefix), message)
            });
        };
        let key_path = format!("{prefix}{}", command.key());
        let Value::Array(entries) = list else {
            return Err(ImportError::at(
                file,
                key_path,
                format!("expected a list, found {}", kind(list)),
            ));
        };
        out.extend(entries.iter().enumerate().map(|(i, v)| Item {
            path: format!("{key_path}[{i}]"),
            value: v.clone(),
        }));
    }
    Ok(out)
}

/// How many entries the lists under `key` hold over all pages (a list the import counts but does not read).
pub fn optional_items(file: &str, text: &str, key: &str) -> Result<usize, ImportError> {
    Ok(pages(file, text)?
        .iter()
        .filter_map(|(_, page)| page.get(key).and_then(Value::as_array))
        .map(Vec::len)
        .sum())
}

/// The pages of a file, each with the path prefix of its entries: `""` for a lone document, `"[i]."` for the
/// i-th of an array of documents, `"(document N) "` for the N-th of documents one after another.
fn pages(file: &str, text: &str) -> Result<Vec<(String, Value)>, ImportError> {
    let mut docs = Vec::new();
    for doc in Deserializer::from_str(text).into_iter::<Value>() {
        docs.push(doc.map_err(|e| ImportError {
            file: file.to_string(),
            location: Location::Text {
                line: e.line(),
                column: e.column(),
            },
            message: format!("not JSON: {e}"),
        })?);
    }
    match docs.len() {
        0 => Err(ImportError::file(
            file,
            "empty: expected the JSON an `aws ec2` command prints",
        )),
        1 => match docs.pop().expect("one document") {
            Value::Array(pages) => Ok(pages
                .into_iter()
                .enumerate()
                .map(|(i, p)| (format!("[{i}]."), p))
                .collect()),
            doc => Ok(vec![(String::new(), doc)]),
        },
        _ => Ok(docs
            .into_iter()
            .enumerate()
            .map(|(i, p)| (format!("(document {}) ", i + 1), p))
            .collect()),
    }
}

/// The path of a page itself, from its entries' prefix.
fn root(prefix: &str) -> String {
    let p = prefix.trim_end_matches(['.', ' ']);
    if p.is_empty() {
        "$".to_string()
    } else {
        p.to_string()
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}
