//! `#[traced]`: run a function inside a span.
//!
//! ```
//! use sonde::trace::{set_global_provider, InMemoryExporter, SimpleProcessor, TracerProvider};
//! use sonde_macros::traced;
//!
//! #[traced(name = "load_user", attributes(db = "users"))]
//! fn load(id: u32) -> Result<String, std::io::Error> {
//!     if id == 0 { Err(std::io::Error::other("no user 0")) } else { Ok(format!("user{id}")) }
//! }
//!
//! let spans = InMemoryExporter::new();
//! set_global_provider(TracerProvider::builder().processor(SimpleProcessor::new(spans.clone())).build());
//! load(7).unwrap();
//! assert!(load(0).is_err());
//! let done = spans.spans();
//! assert_eq!(done[0].name, "load_user");
//! assert!(matches!(done[1].status, sonde::trace::Status::Error { .. }));
//! ```
//!
//! The span is a child of the current span, on the global tracer provider
//! (`sonde::trace::set_global_provider`), scoped by the function's module.
//! Options: `name = "..."` (default: the function's name) and
//! `attributes(key = literal, ...)`. For a function returning `Result`, an
//! `Err` sets the span status to `Error` with the error's `Display` text.
//! `async fn`s keep the span current across every `.await`.

use proc_macro::TokenStream;
use quote::{quote, ToTokens};
use syn::parse::{Parse, ParseStream};
use syn::punctuated::Punctuated;
use syn::{parse_macro_input, Expr, ItemFn, LitStr, ReturnType, Token, Type};

struct Options {
    name: Option<LitStr>,
    attributes: Vec<(LitStr, Expr)>,
}

impl Parse for Options {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let mut opts = Options { name: None, attributes: Vec::new() };
        while !input.is_empty() {
            let key: syn::Ident = input.parse()?;
            if key == "name" {
                input.parse::<Token![=]>()?;
                opts.name = Some(input.parse()?);
            } else if key == "attributes" {
                let content;
                syn::parenthesized!(content in input);
                let pairs = Punctuated::<AttrPair, Token![,]>::parse_terminated(&content)?;
                opts.attributes.extend(pairs.into_iter().map(|p| (p.key, p.value)));
            } else {
                return Err(syn::Error::new(key.span(), "expected `name = \"...\"` or `attributes(...)`"));
            }
            if !input.is_empty() {
                input.parse::<Token![,]>()?;
            }
        }
        Ok(opts)
    }
}

struct AttrPair {
    key: LitStr,
    value: Expr,
}

impl Parse for AttrPair {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let key = if input.peek(LitStr) {
            input.parse::<LitStr>()?
        } else {
            // dotted keys: http.method = "GET"
            let mut parts = vec![input.parse::<syn::Ident>()?.to_string()];
            while input.peek(Token![.]) {
                input.parse::<Token![.]>()?;
                parts.push(input.parse::<syn::Ident>()?.to_string());
            }
            LitStr::new(&parts.join("."), input.span())
        };
        input.parse::<Token![=]>()?;
        Ok(AttrPair { key, value: input.parse()? })
    }
}

fn returns_result(ret: &ReturnType) -> bool {
    match ret {
        ReturnType::Type(_, ty) => match &**ty {
            Type::Path(p) => p.path.segments.last().is_some_and(|s| s.ident == "Result"),
            _ => false,
        },
        ReturnType::Default => false,
    }
}

/// Runs the function inside a span; see the crate docs.
#[proc_macro_attribute]
pub fn traced(args: TokenStream, item: TokenStream) -> TokenStream {
    let opts = parse_macro_input!(args as Options);
    let func = parse_macro_input!(item as ItemFn);
    let ItemFn { attrs, vis, sig, block } = func;
    let name = opts.name.map(|n| n.value()).unwrap_or_else(|| sig.ident.to_string());
    let set_attrs = opts.attributes.iter().map(|(k, v)| quote! { __sonde_span.set_attribute(#k, #v); });
    let ret = match &sig.output {
        ReturnType::Default => quote! { () },
        ReturnType::Type(_, ty) => ty.to_token_stream(),
    };
    let record = if returns_result(&sig.output) {
        quote! {
            if let ::core::result::Result::Err(e) = &__sonde_result {
                __sonde_span.set_status(::sonde::trace::Status::Error { message: e.to_string().into() });
            }
        }
    } else {
        quote! {}
    };
    let start = quote! {
        static __SONDE_SCOPE: ::std::sync::OnceLock<&'static ::sonde::trace::Scope> = ::std::sync::OnceLock::new();
        let mut __sonde_span = ::sonde::trace::callsite_tracer(&__SONDE_SCOPE, module_path!()).start(#name);
        #(#set_attrs)*
    };
    let body = if sig.asyncness.is_some() {
        quote! {
            #start
            let __sonde_result: #ret = ::sonde::trace::Instrument::in_context(
                async move #block,
                __sonde_span.context().clone(),
            ).await;
            #record
            __sonde_result
        }
    } else {
        quote! {
            #start
            #[allow(clippy::redundant_closure_call, reason = "the closure scopes the body's `return`s to the span")]
            let __sonde_result: #ret = {
                let __sonde_entered = __sonde_span.enter();
                (|| -> #ret #block)()
            };
            #record
            __sonde_result
        }
    };
    quote! { #(#attrs)* #vis #sig { #body } }.into()
}
