//! in-toto extractor (layout + link metadata, specification v0.9, essential subset).
//!
//! Payload: base64 of `{"layout": <signed layout>, "layout_keys": [<public key>...], "links": [<signed link>...]}`.
//! Checks: the layout is signed by every given layout key (and, if the RVPS pins layout key ids, only
//! pinned keys are accepted), it has not expired, every step has at least `threshold` links signed by
//! distinct authorised functionaries whose artifacts agree, and every step's material/product rules
//! hold (ALLOW, DISALLOW, REQUIRE, CREATE, DELETE, MODIFY, MATCH). Inspections are refused, not
//! skipped. The products of all steps become reference values: `<path>` → its hex digests.

use std::collections::{BTreeMap, BTreeSet};

use aws_lc_rs::digest;
use aws_lc_rs::signature::{UnparsedPublicKey, ED25519};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde_json::{Map, Value};

use crate::rfc3339::parse_rfc3339;
use crate::Error;

fn e(s: impl Into<String>) -> Error {
    Error::InToto(s.into())
}

/// securesystemslib canonical JSON: sorted keys, no whitespace, only `"` and `\` escaped, integers only.
pub fn canonical(v: &Value) -> Result<Vec<u8>, Error> {
    fn w(out: &mut Vec<u8>, v: &Value) -> Result<(), Error> {
        match v {
            Value::Null => out.extend(b"null"),
            Value::Bool(b) => out.extend(if *b { &b"true"[..] } else { &b"false"[..] }),
            Value::Number(n) => {
                if !(n.is_i64() || n.is_u64()) {
                    return Err(e("floats are not allowed in canonical JSON"));
                }
                out.extend(n.to_string().as_bytes());
            }
            Value::String(s) => {
                out.push(b'"');
                for b in s.bytes() {
                    if b == b'"' || b == b'\\' {
                        out.push(b'\\');
                    }
                    out.push(b);
                }
                out.push(b'"');
            }
            Value::Array(a) => {
                out.push(b'[');
                for (i, x) in a.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    w(out, x)?;
                }
                out.push(b']');
            }
            Value::Object(m) => {
                let mut keys: Vec<&String> = m.keys().collect();
                keys.sort();
                out.push(b'{');
                for (i, k) in keys.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    w(out, &Value::String((*k).clone()))?;
                    out.push(b':');
                    w(out, &m[k.as_str()])?;
                }
                out.push(b'}');
            }
        }
        Ok(())
    }
    let mut out = Vec::new();
    w(&mut out, v)?;
    Ok(out)
}

/// An ed25519 public key in securesystemslib form.
#[derive(Debug, Clone)]
pub struct Key {
    pub keyid: String,
    public: Vec<u8>,
}

impl Key {
    pub fn from_value(v: &Value) -> Result<Self, Error> {
        let m = v.as_object().ok_or_else(|| e("key is not an object"))?;
        if m.get("keytype").and_then(Value::as_str) != Some("ed25519")
            || m.get("scheme").and_then(Value::as_str) != Some("ed25519")
        {
            return Err(e("only ed25519 keys are supported"));
        }
        let public = m
            .get("keyval")
            .and_then(|k| k.get("public"))
            .and_then(Value::as_str)
            .ok_or_else(|| e("key has no keyval.public"))?;
        let public = hex::decode(public).map_err(|_| e("keyval.public is not hex"))?;
        if public.len() != 32 {
            return Err(e("ed25519 public key must be 32 bytes"));
        }
        // keyid = sha256(canonical(public part of the key))
        let mut pubform = Map::new();
        for (k, v) in m {
            match k.as_str() {
                "keyid" => {}
                "keyval" => {
                    pubform.insert(k.clone(), serde_json::json!({"public": hex::encode(&public)}));
                }
                _ => {
                    pubform.insert(k.clone(), v.clone());
                }
            }
        }
        let keyid = hex::encode(digest::digest(&digest::SHA256, &canonical(&Value::Object(pubform))?));
        Ok(Key { keyid, public })
    }

    fn verifies(&self, msg: &[u8], sig_hex: &str) -> bool {
        hex::decode(sig_hex).is_ok_and(|sig| UnparsedPublicKey::new(&ED25519, &self.public).verify(msg, &sig).is_ok())
    }
}

/// Key ids (among `keys`) with a valid signature over `signed` in the envelope.
fn valid_signers(envelope: &Value, keys: &BTreeMap<String, Key>) -> Result<BTreeSet<String>, Error> {
    let signed = envelope.get("signed").ok_or_else(|| e("envelope has no \"signed\""))?;
    let msg = canonical(signed)?;
    let sigs = envelope.get("signatures").and_then(Value::as_array).ok_or_else(|| e("envelope has no signatures"))?;
    let mut ok = BTreeSet::new();
    for s in sigs {
        let (Some(kid), Some(sig)) = (s.get("keyid").and_then(Value::as_str), s.get("sig").and_then(Value::as_str))
        else {
            return Err(e("malformed signature entry"));
        };
        if let Some(k) = keys.get(kid) {
            if k.verifies(&msg, sig) {
                ok.insert(kid.to_string());
            }
        }
    }
    Ok(ok)
}

type Artifacts = BTreeMap<String, BTreeMap<String, String>>;

fn artifacts(link: &Value, which: &str) -> Result<Artifacts, Error> {
    match link.get(which) {
        None | Some(Value::Null) => Ok(Artifacts::new()),
        Some(v) => serde_json::from_value(v.clone()).map_err(|_| e(format!("link {which} are malformed"))),
    }
}

/// fnmatch-style glob: `*` any run (including `/`), `?` one character.
pub fn glob(pat: &str, s: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pat.chars().collect(), s.chars().collect());
    let (mut pi, mut ti, mut star, mut mark) = (0, 0, None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(sp) = star {
            pi = sp + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == '*' {
        pi += 1;
    }
    pi == p.len()
}

struct StepLinks {
    materials: Artifacts,
    products: Artifacts,
}

fn apply_rules(
    step: &str,
    kind: &str,
    rules: &[Value],
    this: &StepLinks,
    all: &BTreeMap<String, StepLinks>,
) -> Result<(), Error> {
    let arts = if kind == "materials" { &this.materials } else { &this.products };
    let mut queue: BTreeSet<String> = arts.keys().cloned().collect();
    for rule in rules {
        let r: Vec<&str> = rule
            .as_array()
            .ok_or_else(|| e(format!("step {step}: rule is not a list")))?
            .iter()
            .map(|x| x.as_str().unwrap_or(""))
            .collect();
        let bad = || e(format!("step {step}: malformed rule {rule}"));
        let op = r.first().map(|s| s.to_ascii_uppercase()).ok_or_else(bad)?;
        let pat = *r.get(1).ok_or_else(bad)?;
        match (op.as_str(), r.len()) {
            ("ALLOW", 2) => queue.retain(|a| !glob(pat, a)),
            ("DISALLOW", 2) => {
                if let Some(a) = queue.iter().find(|a| glob(pat, a)) {
                    return Err(e(format!("step {step}: {kind} {a:?} disallowed by rule {rule}")));
                }
            }
            ("REQUIRE", 2) => {
                if !arts.contains_key(pat) {
                    return Err(e(format!("step {step}: required {kind} {pat:?} is missing")));
                }
            }
            ("CREATE", 2) => queue.retain(|a| !glob(pat, a) || this.materials.contains_key(a)),
            ("DELETE", 2) => queue.retain(|a| !glob(pat, a) || this.products.contains_key(a)),
            ("MODIFY", 2) => queue.retain(|a| {
                !(glob(pat, a) && matches!((this.materials.get(a), this.products.get(a)), (Some(m), Some(p)) if m != p))
            }),
            ("MATCH", _) => {
                // MATCH <pattern> [IN <src>] WITH <MATERIALS|PRODUCTS> [IN <dst>] FROM <step>
                let mut i = 2;
                let mut src = "";
                if r.get(i).map(|s| s.eq_ignore_ascii_case("IN")) == Some(true) {
                    src = r.get(i + 1).ok_or_else(bad)?;
                    i += 2;
                }
                if r.get(i).map(|s| s.eq_ignore_ascii_case("WITH")) != Some(true) {
                    return Err(bad());
                }
                let which = r.get(i + 1).ok_or_else(bad)?.to_ascii_lowercase();
                i += 2;
                let mut dst = "";
                if r.get(i).map(|s| s.eq_ignore_ascii_case("IN")) == Some(true) {
                    dst = r.get(i + 1).ok_or_else(bad)?;
                    i += 2;
                }
                if r.get(i).map(|s| s.eq_ignore_ascii_case("FROM")) != Some(true) || r.len() != i + 2 {
                    return Err(bad());
                }
                let other = all
                    .get(r[i + 1])
                    .ok_or_else(|| e(format!("step {step}: MATCH refers to unknown step {:?}", r[i + 1])))?;
                let other_arts = match which.as_str() {
                    "materials" => &other.materials,
                    "products" => &other.products,
                    _ => return Err(bad()),
                };
                let join = |pre: &str, p: &str| {
                    if pre.is_empty() {
                        p.to_string()
                    } else {
                        format!("{}/{}", pre.trim_end_matches('/'), p)
                    }
                };
                queue.retain(|a| {
                    let rel = if src.is_empty() {
                        Some(a.as_str())
                    } else {
                        a.strip_prefix(&format!("{}/", src.trim_end_matches('/')))
                    };
                    let Some(rel) = rel else { return true };
                    if !glob(pat, rel) {
                        return true;
                    }
                    !matches!(other_arts.get(&join(dst, rel)), Some(h) if Some(h) == arts.get(a))
                });
            }
            _ => return Err(bad()),
        }
    }
    Ok(())
}

/// Verifies the metadata and returns `(artifact path, [hex digests])` for every product.
pub fn extract(payload: &str, now: i64, pinned_layout_keyids: &[String]) -> Result<Vec<(String, Vec<Value>)>, Error> {
    let raw = STANDARD.decode(payload.trim()).map_err(|_| e("payload is not base64"))?;
    let p: Value = serde_json::from_slice(&raw).map_err(|_| e("payload is not JSON"))?;
    verify(&p, now, pinned_layout_keyids)
}

pub fn verify(p: &Value, now: i64, pinned_layout_keyids: &[String]) -> Result<Vec<(String, Vec<Value>)>, Error> {
    let layout_env = p.get("layout").ok_or_else(|| e("no layout"))?;
    let mut layout_keys = BTreeMap::new();
    for k in p.get("layout_keys").and_then(Value::as_array).ok_or_else(|| e("no layout_keys"))? {
        let k = Key::from_value(k)?;
        if !pinned_layout_keyids.is_empty() && !pinned_layout_keyids.contains(&k.keyid) {
            return Err(e(format!("layout key {} is not trusted by this RVPS", k.keyid)));
        }
        layout_keys.insert(k.keyid.clone(), k);
    }
    if layout_keys.is_empty() {
        return Err(e("no layout key given"));
    }
    let signers = valid_signers(layout_env, &layout_keys)?;
    if let Some(missing) = layout_keys.keys().find(|k| !signers.contains(*k)) {
        return Err(e(format!("layout is not signed by layout key {missing}")));
    }
    let layout = &layout_env["signed"];
    if layout.get("_type").and_then(Value::as_str) != Some("layout") {
        return Err(e("signed metadata is not a layout"));
    }
    let expires = layout.get("expires").and_then(Value::as_str).ok_or_else(|| e("layout has no expires"))?;
    let exp = parse_rfc3339(expires).ok_or_else(|| e(format!("layout expires {expires:?} is not RFC 3339")))?;
    if exp <= now {
        return Err(e(format!("layout expired at {expires}")));
    }
    if layout.get("inspect").and_then(Value::as_array).is_some_and(|a| !a.is_empty()) {
        return Err(e("layout inspections are not supported"));
    }
    let mut functionaries = BTreeMap::new();
    for (kid, k) in layout.get("keys").and_then(Value::as_object).ok_or_else(|| e("layout has no keys"))? {
        let key = Key::from_value(k)?;
        if &key.keyid != kid {
            return Err(e(format!("layout key {kid} has key id {}", key.keyid)));
        }
        functionaries.insert(kid.clone(), key);
    }
    let steps = layout.get("steps").and_then(Value::as_array).ok_or_else(|| e("layout has no steps"))?;
    let links = p.get("links").and_then(Value::as_array).cloned().unwrap_or_default();
    let mut chosen: BTreeMap<String, StepLinks> = BTreeMap::new();
    for step in steps {
        let name = step.get("name").and_then(Value::as_str).ok_or_else(|| e("step without name"))?;
        let threshold = step.get("threshold").and_then(Value::as_u64).unwrap_or(1).max(1) as usize;
        let authorised: BTreeMap<String, Key> = step
            .get("pubkeys")
            .and_then(Value::as_array)
            .ok_or_else(|| e(format!("step {name} has no pubkeys")))?
            .iter()
            .filter_map(Value::as_str)
            .filter_map(|kid| functionaries.get(kid).map(|k| (kid.to_string(), k.clone())))
            .collect();
        let mut signed_by = BTreeSet::new();
        let mut agreed: Option<(Artifacts, Artifacts)> = None;
        for env in &links {
            let l = &env["signed"];
            if l.get("_type").and_then(Value::as_str) != Some("link")
                || l.get("name").and_then(Value::as_str) != Some(name)
            {
                continue;
            }
            let signers = valid_signers(env, &authorised)?;
            if signers.is_empty() || signers.is_subset(&signed_by) {
                continue;
            }
            let arts = (artifacts(l, "materials")?, artifacts(l, "products")?);
            match &agreed {
                Some(a) if *a != arts => {
                    return Err(e(format!("step {name}: links by different functionaries disagree")))
                }
                _ => agreed = Some(arts),
            }
            signed_by.extend(signers);
        }
        if signed_by.len() < threshold {
            return Err(e(format!(
                "step {name}: {} valid link(s) by authorised functionaries, threshold {threshold}",
                signed_by.len()
            )));
        }
        let (materials, products) = agreed.ok_or_else(|| e(format!("step {name}: no link")))?;
        chosen.insert(name.to_string(), StepLinks { materials, products });
    }
    for step in steps {
        let name = step["name"].as_str().unwrap_or_default();
        let this = &chosen[name];
        for (kind, key) in [("materials", "expected_materials"), ("products", "expected_products")] {
            let rules = step.get(key).and_then(Value::as_array).cloned().unwrap_or_default();
            apply_rules(name, kind, &rules, this, &chosen)?;
        }
    }
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for sl in chosen.values() {
        for (path, hashes) in &sl.products {
            out.entry(path.clone()).or_default().extend(hashes.values().cloned());
        }
    }
    Ok(out.into_iter().map(|(k, v)| (k, v.into_iter().map(Value::String).collect())).collect())
}

#[cfg(test)]
mod tests {
    use aws_lc_rs::rand::SystemRandom;
    use aws_lc_rs::signature::{Ed25519KeyPair, KeyPair};
    use serde_json::json;

    use super::*;

    const NOW: i64 = 1_800_000_000;

    struct Signer {
        kp: Ed25519KeyPair,
        key: Value,
        keyid: String,
    }

    fn signer() -> Signer {
        let doc = Ed25519KeyPair::generate_pkcs8(&SystemRandom::new()).unwrap();
        let kp = Ed25519KeyPair::from_pkcs8(doc.as_ref()).unwrap();
        let key = json!({"keytype": "ed25519", "scheme": "ed25519", "keyid_hash_algorithms": ["sha256", "sha512"],
                         "keyval": {"public": hex::encode(kp.public_key().as_ref())}});
        let keyid = Key::from_value(&key).unwrap().keyid;
        Signer { kp, key, keyid }
    }

    fn sign(signed: Value, by: &[&Signer]) -> Value {
        let msg = canonical(&signed).unwrap();
        let sigs: Vec<Value> =
            by.iter().map(|s| json!({"keyid": s.keyid, "sig": hex::encode(s.kp.sign(&msg).as_ref())})).collect();
        json!({"signed": signed, "signatures": sigs})
    }

    fn sha(s: &str) -> Value {
        json!({"sha256": hex::encode(digest::digest(&digest::SHA256, s.as_bytes()))})
    }

    fn link(name: &str, materials: Value, products: Value) -> Value {
        json!({"_type": "link", "name": name, "command": [], "materials": materials, "products": products,
               "byproducts": {}, "environment": {}})
    }

    struct Fixture {
        owner: Signer,
        alice: Signer,
        bob: Signer,
        carol: Signer,
    }

    fn layout(f: &Fixture, expires: &str) -> Value {
        let keys: Map<String, Value> =
            [&f.alice, &f.bob, &f.carol].iter().map(|s| (s.keyid.clone(), s.key.clone())).collect();
        json!({"_type": "layout", "expires": expires, "readme": "", "keys": keys, "inspect": [],
        "steps": [
          {"_type": "step", "name": "build", "threshold": 2, "pubkeys": [f.alice.keyid, f.bob.keyid], "expected_command": [],
           "expected_materials": [["ALLOW", "src/*"], ["DISALLOW", "*"]],
           "expected_products": [["CREATE", "bin/app"], ["MATCH", "src/*", "WITH", "MATERIALS", "FROM", "build"], ["DISALLOW", "*"]]},
          {"_type": "step", "name": "package", "threshold": 1, "pubkeys": [f.carol.keyid], "expected_command": [],
           "expected_materials": [["MATCH", "bin/app", "WITH", "PRODUCTS", "FROM", "build"], ["DISALLOW", "*"]],
           "expected_products": [["CREATE", "app.tar"], ["REQUIRE", "app.tar"], ["DELETE", "bin/app"], ["DISALLOW", "*"]]}
        ]})
    }

    fn fixture() -> Fixture {
        Fixture { owner: signer(), alice: signer(), bob: signer(), carol: signer() }
    }

    fn build_link() -> Value {
        link(
            "build",
            json!({"src/main.c": sha("int main")}),
            json!({"src/main.c": sha("int main"), "bin/app": sha("ELF")}),
        )
    }

    fn package_link() -> Value {
        link("package", json!({"bin/app": sha("ELF")}), json!({"app.tar": sha("TAR")}))
    }

    fn payload(f: &Fixture, layout: Value, links: Vec<Value>) -> Value {
        json!({"layout": sign(layout, &[&f.owner]), "layout_keys": [f.owner.key], "links": links})
    }

    fn good_links(f: &Fixture) -> Vec<Value> {
        vec![sign(build_link(), &[&f.alice]), sign(build_link(), &[&f.bob]), sign(package_link(), &[&f.carol])]
    }

    #[test]
    fn verified_products_become_reference_values() {
        let f = fixture();
        let p = payload(&f, layout(&f, "2030-01-01T00:00:00Z"), good_links(&f));
        let rv = verify(&p, NOW, &[]).unwrap();
        let names: Vec<&str> = rv.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["app.tar", "bin/app", "src/main.c"]);
        assert_eq!(rv[0].1, vec![sha("TAR")["sha256"].clone()]);
        // through the RVPS message path too
        let b = STANDARD.encode(p.to_string());
        assert_eq!(extract(&b, NOW, std::slice::from_ref(&f.owner.keyid)).unwrap().len(), 3);
        assert!(extract(&b, NOW, &["00".repeat(32)]).is_err(), "unpinned layout key accepted");
    }

    #[test]
    fn expired_layout() {
        let f = fixture();
        let p = payload(&f, layout(&f, "2020-01-01T00:00:00Z"), good_links(&f));
        assert!(matches!(verify(&p, NOW, &[]), Err(Error::InToto(m)) if m.contains("expired")));
    }

    #[test]
    fn forged_layout_signature() {
        let f = fixture();
        let mut p = payload(&f, layout(&f, "2030-01-01T00:00:00Z"), good_links(&f));
        // change the layout after signing
        p["layout"]["signed"]["steps"][0]["threshold"] = json!(1);
        assert!(matches!(verify(&p, NOW, &[]), Err(Error::InToto(m)) if m.contains("not signed")));
        // signed by someone who is not the layout key
        let mallory = signer();
        let mut p = payload(&f, layout(&f, "2030-01-01T00:00:00Z"), good_links(&f));
        p["layout"] = sign(layout(&f, "2030-01-01T00:00:00Z"), &[&mallory]);
        assert!(verify(&p, NOW, &[]).is_err());
    }

    #[test]
    fn below_threshold_and_forged_links() {
        let f = fixture();
        let l = layout(&f, "2030-01-01T00:00:00Z");
        // only alice signed build (threshold 2)
        let p = payload(&f, l.clone(), vec![sign(build_link(), &[&f.alice]), sign(package_link(), &[&f.carol])]);
        assert!(matches!(verify(&p, NOW, &[]), Err(Error::InToto(m)) if m.contains("threshold 2")));
        // alice twice does not count twice
        let p = payload(
            &f,
            l.clone(),
            vec![sign(build_link(), &[&f.alice]), sign(build_link(), &[&f.alice]), sign(package_link(), &[&f.carol])],
        );
        assert!(verify(&p, NOW, &[]).is_err());
        // bob's link modified after signing (forged product digest) does not count
        let mut forged = sign(build_link(), &[&f.bob]);
        forged["signed"]["products"]["bin/app"] = sha("EVIL");
        let p =
            payload(&f, l.clone(), vec![sign(build_link(), &[&f.alice]), forged, sign(package_link(), &[&f.carol])]);
        assert!(verify(&p, NOW, &[]).is_err());
        // an unauthorised functionary (carol) signing build does not count
        let p = payload(
            &f,
            l.clone(),
            vec![sign(build_link(), &[&f.alice]), sign(build_link(), &[&f.carol]), sign(package_link(), &[&f.carol])],
        );
        assert!(verify(&p, NOW, &[]).is_err());
        // authorised but disagreeing links
        let other = link(
            "build",
            json!({"src/main.c": sha("int main")}),
            json!({"src/main.c": sha("int main"), "bin/app": sha("ELF2")}),
        );
        let p = payload(
            &f,
            l,
            vec![sign(build_link(), &[&f.alice]), sign(other, &[&f.bob]), sign(package_link(), &[&f.carol])],
        );
        assert!(matches!(verify(&p, NOW, &[]), Err(Error::InToto(m)) if m.contains("disagree")));
    }

    #[test]
    fn artifact_rules() {
        let f = fixture();
        let l = layout(&f, "2030-01-01T00:00:00Z");
        // package consumed a bin/app that is not what build produced (MATCH fails -> DISALLOW *)
        let bad_pkg = link("package", json!({"bin/app": sha("TROJAN")}), json!({"app.tar": sha("TAR")}));
        let p = payload(
            &f,
            l.clone(),
            vec![sign(build_link(), &[&f.alice]), sign(build_link(), &[&f.bob]), sign(bad_pkg, &[&f.carol])],
        );
        assert!(matches!(verify(&p, NOW, &[]), Err(Error::InToto(m)) if m.contains("disallowed")));
        // unexpected extra product
        let extra =
            link("package", json!({"bin/app": sha("ELF")}), json!({"app.tar": sha("TAR"), "backdoor": sha("x")}));
        let p = payload(
            &f,
            l.clone(),
            vec![sign(build_link(), &[&f.alice]), sign(build_link(), &[&f.bob]), sign(extra, &[&f.carol])],
        );
        assert!(verify(&p, NOW, &[]).is_err());
        // required product missing
        let missing = link("package", json!({"bin/app": sha("ELF")}), json!({}));
        let p = payload(
            &f,
            l,
            vec![sign(build_link(), &[&f.alice]), sign(build_link(), &[&f.bob]), sign(missing, &[&f.carol])],
        );
        assert!(matches!(verify(&p, NOW, &[]), Err(Error::InToto(m)) if m.contains("required")));
    }

    #[test]
    fn glob_and_canonical() {
        assert!(glob("src/*", "src/a/b.c"));
        assert!(glob("*.tar", "app.tar"));
        assert!(!glob("*.tar", "app.tar.gz"));
        assert!(glob("a?c", "abc"));
        assert_eq!(
            canonical(&json!({"b": "\"q\\", "a": [1, true, null]})).unwrap(),
            br#"{"a":[1,true,null],"b":"\"q\\"}"#.to_vec()
        );
        assert!(canonical(&json!({"f": 1.5})).is_err());
    }
}
