//! `syndic man`: the manual page in roff, generated from the clap
//! definitions (clap_mangen), so it says what `--help` says.
//!
//! clap_mangen fills `after_help` as one paragraph, which would run the
//! examples together; here each `Heading:` block of it becomes a section
//! of its own (EXAMPLES, EXIT STATUS) with its lines kept as written.

use std::io::{self, Write};
use std::path::Path;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::CommandFactory;

use crate::cli::{Cli, ManArgs};

pub(crate) fn run(args: &ManArgs) -> anyhow::Result<ExitCode> {
    let mut cmd = Cli::command().disable_help_subcommand(true);
    cmd.build();
    match &args.out_dir {
        None => {
            let mut page = Vec::new();
            render(&cmd, &mut page)?;
            let mut out = std::io::stdout().lock();
            out.write_all(&page)?;
            out.flush()?;
        }
        Some(dir) => {
            std::fs::create_dir_all(dir).with_context(|| format!("could not create {}", dir.display()))?;
            write_pages(&cmd, dir).with_context(|| format!("could not write the pages in {}", dir.display()))?;
            println!("wrote the manual pages to {}", dir.display());
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Writes `syndic.1`, then `syndic-sync.1`, `syndic-export-opml.1`... into `dir`.
fn write_pages(cmd: &clap::Command, dir: &Path) -> io::Result<()> {
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        write_pages(sub, dir)?;
    }
    let mut page = Vec::new();
    render(cmd, &mut page)?;
    std::fs::write(dir.join(clap_mangen::Man::new(cmd.clone()).get_filename()), page)
}

/// One manual page: clap_mangen's sections, then the `after_help` blocks.
fn render(cmd: &clap::Command, w: &mut dyn Write) -> io::Result<()> {
    let man = clap_mangen::Man::new(cmd.clone());
    man.render_title(w)?;
    man.render_name_section(w)?;
    man.render_synopsis_section(w)?;
    man.render_description_section(w)?;
    if cmd.get_arguments().any(|a| !a.is_hide_set()) {
        man.render_options_section(w)?;
    }
    if cmd.get_subcommands().any(|s| !s.is_hide_set()) {
        man.render_subcommands_section(w)?;
    }
    if let Some(after) = cmd.get_after_help() {
        w.write_all(after_help_sections(&after.to_string()).as_bytes())?;
    }
    if cmd.get_version().is_some() {
        man.render_version_section(w)?;
    }
    Ok(())
}

/// `Examples:\n  syndic ...` → `.SH EXAMPLES` and the lines unfilled; a
/// block without a heading line is a paragraph of the section before it.
fn after_help_sections(text: &str) -> String {
    let mut out = String::new();
    for block in text.split("\n\n") {
        let mut lines = block.lines();
        let Some(first) = lines.next() else { continue };
        match first.strip_suffix(':') {
            Some(heading) if heading.split(' ').count() <= 2 => {
                out.push_str(&format!(".SH \"{}\"\n.nf\n", heading.to_uppercase()));
                for line in lines {
                    out.push_str(&roff_line(line));
                }
                out.push_str(".fi\n");
            }
            _ => {
                out.push_str(".PP\n");
                for line in block.lines() {
                    out.push_str(&roff_line(line));
                }
            }
        }
    }
    out
}

/// One line of text as roff: backslashes and hyphens escaped, a leading
/// dot or quote not taken for a request.
fn roff_line(line: &str) -> String {
    let escaped = line.replace('\\', "\\e").replace('-', "\\-");
    if escaped.starts_with('.') || escaped.starts_with('\'') {
        format!("\\&{escaped}\n")
    } else {
        format!("{escaped}\n")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn after_help_blocks_become_sections_with_their_lines_kept() {
        let roff = after_help_sections(
            "Examples:\n  syndic list --all\n  .hidden \\ back\n\nExit status:\n  0   ok\n\n--format tsv columns: id.",
        );
        assert_eq!(
            roff,
            ".SH \"EXAMPLES\"\n.nf\n  syndic list \\-\\-all\n  .hidden \\e back\n.fi\n\
             .SH \"EXIT STATUS\"\n.nf\n  0   ok\n.fi\n.PP\n\\-\\-format tsv columns: id.\n"
        );
        assert_eq!(roff_line(".TH x"), "\\&.TH x\n");
    }
}
