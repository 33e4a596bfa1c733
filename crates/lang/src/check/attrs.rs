//! Attribute validation: which attributes exist (`@packed`, `@align(N)`, `@layout(c|zig)`,
//! `@symbol("name")`, `@abi(c|sysv64|win64|aapcs64)`), where each may appear and what
//! arguments it takes. Owns `attribute` diagnostics; returns the validated settings.

use super::Checker;
use crate::ast::{self, ExprKind};
use crate::diag::{suggest, DiagKind, Diagnostic};
use crate::tir::Abi;

const KNOWN: [&str; 5] = ["packed", "align", "layout", "symbol", "abi"];

/// What an attribute list is attached to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum AttrTarget {
    Struct,
    Union,
    ExternFn,
    ExternBlock,
    Callback,
    /// Any other declaration (no attributes allowed); the text names it.
    Other(&'static str),
}

impl AttrTarget {
    fn allows(self, attr: &str) -> bool {
        match self {
            AttrTarget::Struct | AttrTarget::Union => {
                matches!(attr, "packed" | "align" | "layout")
            }
            AttrTarget::ExternFn => matches!(attr, "symbol" | "abi"),
            AttrTarget::ExternBlock | AttrTarget::Callback => attr == "abi",
            AttrTarget::Other(_) => false,
        }
    }

    fn describe(self) -> &'static str {
        match self {
            AttrTarget::Struct => "a struct",
            AttrTarget::Union => "a union",
            AttrTarget::ExternFn => "a foreign function",
            AttrTarget::ExternBlock => "an `extern` block",
            AttrTarget::Callback => "a callback",
            AttrTarget::Other(s) => s,
        }
    }
}

/// Validated attribute settings (absent ones are defaults).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(super) struct AttrSet {
    pub packed: bool,
    pub align: Option<u64>,
    pub zig: bool,
    pub symbol: Option<String>,
    pub abi: Option<Abi>,
}

impl<'a> Checker<'a> {
    /// Validate `attrs` for `on`, reporting every problem.
    pub(super) fn attrs(&mut self, attrs: &'a [ast::Attr], on: AttrTarget) -> AttrSet {
        let mut set = AttrSet::default();
        let mut seen: Vec<&str> = Vec::new();
        for attr in attrs {
            let name = attr.name.name.as_str();
            if !KNOWN.contains(&name) {
                let mut d = Diagnostic::new(
                    DiagKind::Attribute,
                    attr.name.span,
                    format!("unknown attribute `@{name}`"),
                );
                if let Some(s) = suggest(name, KNOWN) {
                    d = d.with_help(format!("did you mean `@{s}`?"));
                }
                self.error(d);
                continue;
            }
            if !on.allows(name) {
                self.error(
                    Diagnostic::new(
                        DiagKind::Attribute,
                        attr.span,
                        format!("`@{name}` cannot be used on {}", on.describe()),
                    )
                    .with_label("not allowed here"),
                );
                continue;
            }
            if seen.contains(&name) {
                self.error(Diagnostic::new(
                    DiagKind::Attribute,
                    attr.span,
                    format!("`@{name}` is given more than once"),
                ));
                continue;
            }
            seen.push(name);
            let want_args = usize::from(name != "packed");
            if attr.args.len() != want_args {
                let shape = match name {
                    "packed" => "`@packed` takes no arguments",
                    "align" => "`@align` takes one argument: `@align(N)`",
                    "layout" => "`@layout` takes one argument: `@layout(c)` or `@layout(zig)`",
                    "symbol" => "`@symbol` takes one argument: `@symbol(\"name\")`",
                    _ => "`@abi` takes one argument: `@abi(c)`, `@abi(sysv64)`, `@abi(win64)` or `@abi(aapcs64)`",
                };
                self.error(Diagnostic::new(DiagKind::Attribute, attr.span, shape));
                continue;
            }
            match name {
                "packed" => set.packed = true,
                "align" => set.align = self.align_arg(&attr.args[0]),
                "layout" => match word(&attr.args[0]) {
                    Some("c") => {}
                    Some("zig") if on == AttrTarget::Struct => set.zig = true,
                    Some("zig") => self.error(Diagnostic::new(
                        DiagKind::Attribute,
                        attr.span,
                        "`@layout(zig)` applies to structs only",
                    )),
                    _ => self.error(Diagnostic::new(
                        DiagKind::Attribute,
                        attr.args[0].span,
                        "unknown layout; expected `c` or `zig`",
                    )),
                },
                "symbol" => match &attr.args[0].kind {
                    ExprKind::Str(s) if !s.is_empty() && !s.contains('\0') => {
                        set.symbol = Some(s.clone())
                    }
                    _ => self.error(Diagnostic::new(
                        DiagKind::Attribute,
                        attr.args[0].span,
                        "`@symbol` needs a non-empty string literal",
                    )),
                },
                _ => {
                    let abi = match word(&attr.args[0]) {
                        Some("c") => Some(Abi::C),
                        Some("sysv64") => Some(Abi::SysV64),
                        Some("win64") => Some(Abi::Win64),
                        Some("aapcs64") => Some(Abi::Aapcs64),
                        _ => None,
                    };
                    if abi.is_none() {
                        let mut d = Diagnostic::new(
                            DiagKind::Attribute,
                            attr.args[0].span,
                            "unknown calling convention; expected `c`, `sysv64`, `win64` or `aapcs64`",
                        );
                        if let Some(s) = word(&attr.args[0])
                            .and_then(|w| suggest(w, ["c", "sysv64", "win64", "aapcs64"]))
                        {
                            d = d.with_help(format!("did you mean `{s}`?"));
                        }
                        self.error(d);
                    }
                    set.abi = abi;
                }
            }
        }
        set
    }

    /// `@align(N)`: a constant power of two in 1..=65536.
    fn align_arg(&mut self, e: &'a ast::Expr) -> Option<u64> {
        let value = self.const_int(e)?;
        if (1..=1 << 16).contains(&value) && (value & (value - 1)) == 0 {
            Some(value as u64)
        } else {
            self.error(
                Diagnostic::new(
                    DiagKind::Attribute,
                    e.span,
                    format!("`@align` needs a power of two from 1 to 65536, found {value}"),
                )
                .with_label("not a valid alignment"),
            );
            None
        }
    }
}

/// A bare identifier argument (`zig`, `win64`).
fn word(e: &ast::Expr) -> Option<&str> {
    match &e.kind {
        ExprKind::Name(id) => Some(&id.name),
        _ => None,
    }
}
