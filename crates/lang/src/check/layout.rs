//! The layout engine: size, alignment and field offsets of every type, by gcc's C
//! rules (see DECISIONS.md "Layout"), with `@packed`, `@align(N)` and `@layout(zig)`.
//!
//! [`struct_layout`] and [`union_layout`] are pure functions over field (size, align)
//! pairs; `Checker::layout` computes a type's layout on demand (a struct needs its
//! fields' layouts first) and reports a struct that contains itself by value.

use super::{Checker, State};
use crate::ast::DeclKind;
use crate::diag::{DiagKind, Diagnostic};
use crate::tir::{TypeId, TypeKind};

/// Options of a struct or union declaration that change its layout.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LayoutOptions {
    /// `@packed`: every field at alignment 1, no padding.
    pub packed: bool,
    /// `@align(N)`: minimum alignment of the whole type.
    pub min_align: Option<u64>,
    /// `@layout(zig)`: place fields by descending alignment (stable), then C rules.
    pub zig: bool,
}

/// Result of laying out an aggregate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AggregateLayout {
    /// Offsets in declaration order.
    pub offsets: Vec<u64>,
    pub size: u64,
    pub align: u64,
}

fn round_up(n: u64, align: u64) -> u64 {
    n.div_ceil(align.max(1)).saturating_mul(align.max(1))
}

/// Lay out struct fields given as `(size, align)` in declaration order.
pub fn struct_layout(fields: &[(u64, u64)], opts: LayoutOptions) -> AggregateLayout {
    let mut order: Vec<usize> = (0..fields.len()).collect();
    if opts.zig {
        // Stable: equal alignments keep declaration order.
        order.sort_by_key(|&i| std::cmp::Reverse(fields[i].1));
    }
    let mut offsets = vec![0; fields.len()];
    let mut end = 0u64;
    let mut align = 1u64;
    for i in order {
        let (size, field_align) = fields[i];
        let field_align = if opts.packed { 1 } else { field_align.max(1) };
        let offset = round_up(end, field_align);
        offsets[i] = offset;
        end = offset.saturating_add(size);
        align = align.max(field_align);
    }
    if let Some(min) = opts.min_align {
        align = align.max(min);
    }
    AggregateLayout {
        offsets,
        size: round_up(end, align),
        align,
    }
}

/// Lay out union fields given as `(size, align)`: every offset 0.
pub fn union_layout(fields: &[(u64, u64)], opts: LayoutOptions) -> AggregateLayout {
    let mut size = 0u64;
    let mut align = 1u64;
    for &(s, a) in fields {
        size = size.max(s);
        if !opts.packed {
            align = align.max(a.max(1));
        }
    }
    if let Some(min) = opts.min_align {
        align = align.max(min);
    }
    AggregateLayout {
        offsets: vec![0; fields.len()],
        size: round_up(size, align),
        align,
    }
}

impl<'a> Checker<'a> {
    /// Size and alignment of a type, computing (and storing) it on first use.
    /// Unsized types (`void`, `opaque`) and errors give `(0, 1)`.
    pub(super) fn layout(&mut self, id: TypeId) -> (u64, u64) {
        let i = id.index();
        match self.layout_state[i] {
            State::Done => return (self.types[i].size, self.types[i].align),
            State::Busy => {
                self.report_containment_cycle(id);
                return (0, 1);
            }
            State::Todo => {}
        }
        self.layout_state[i] = State::Busy;
        let (size, align) = match self.types[i].kind.clone() {
            TypeKind::Array { elem, len } => {
                let (s, a) = self.layout(elem);
                (s.saturating_mul(len), a)
            }
            TypeKind::Enum(_) => {
                self.resolve_named(id);
                match &self.types[i].kind {
                    TypeKind::Enum(e) => (e.repr.size(), e.repr.size()),
                    _ => (4, 4),
                }
            }
            TypeKind::Struct(_) | TypeKind::Union(_) => self.aggregate_layout(id),
            // Scalars, pointers, callbacks, opaque and void are created Done.
            _ => (self.types[i].size, self.types[i].align),
        };
        self.types[i].size = size;
        self.types[i].align = align;
        self.layout_state[i] = State::Done;
        (size, align)
    }

    fn aggregate_layout(&mut self, id: TypeId) -> (u64, u64) {
        self.resolve_named(id);
        let i = id.index();
        let resolving =
            self.type_origin[i].is_some_and(|o| self.named[o as usize].state == State::Busy);
        if resolving {
            // Its own field types need its size (`[u8; sizeof(S)]` inside `S`).
            self.report_containment_cycle(id);
            return (0, 1);
        }
        let opts = self.layout_options(id);
        let field_types: Vec<TypeId> = match &self.types[i].kind {
            TypeKind::Struct(a) | TypeKind::Union(a) => a.fields.iter().map(|f| f.ty).collect(),
            _ => Vec::new(),
        };
        let sizes: Vec<(u64, u64)> = field_types.iter().map(|&t| self.layout(t)).collect();
        let is_union = matches!(self.types[i].kind, TypeKind::Union(_));
        let result = if is_union {
            union_layout(&sizes, opts)
        } else {
            struct_layout(&sizes, opts)
        };
        if let TypeKind::Struct(a) | TypeKind::Union(a) = &mut self.types[i].kind {
            for (f, off) in a.fields.iter_mut().zip(&result.offsets) {
                f.offset = *off;
            }
        }
        (result.size, result.align)
    }

    /// The struct/union attributes that affect layout (validated in `resolve_named`).
    fn layout_options(&self, id: TypeId) -> LayoutOptions {
        match self.type_origin[id.index()] {
            Some(origin) => self.named[origin as usize].opts,
            None => LayoutOptions::default(),
        }
    }

    fn report_containment_cycle(&mut self, id: TypeId) {
        let i = id.index();
        if self.cycle_reported[i] {
            return;
        }
        self.cycle_reported[i] = true;
        let (name, span) = match &self.types[i].kind {
            TypeKind::Struct(a) | TypeKind::Union(a) => (a.name.clone(), a.span),
            _ => return,
        };
        let what = match self.type_origin[i].map(|o| &self.named[o as usize].decl.kind) {
            Some(DeclKind::Union { .. }) => "union",
            _ => "struct",
        };
        self.error(
            Diagnostic::new(
                DiagKind::InvalidType,
                span,
                format!("{what} `{name}` contains itself by value"),
            )
            .with_label("infinite size")
            .with_help("use a pointer to refer to it"),
        );
    }
}
