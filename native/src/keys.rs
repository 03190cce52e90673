//! Strkeys, hex, the account and asset helpers the processors share.

use std::collections::HashMap;

use sha2::{Digest, Sha256};
use stellar_strkey::{ed25519, ClaimableBalance, Contract, LiquidityPool, Strkey};
use stellar_xdr::{
    AccountId, Asset, ClaimableBalanceId, ContractIdPreimage, Hash, HashIdPreimage,
    HashIdPreimageContractId, Limits, MuxedAccount, PublicKey, ScAddress, WriteXdr,
};

use crate::error::{Error, Result};

/// `G…` of a raw ed25519 key.
pub fn g(key: &[u8; 32]) -> String {
    ed25519::PublicKey(*key).to_string().as_str().to_owned()
}

/// `M…` of a key and mux id.
pub fn m(key: &[u8; 32], id: u64) -> String {
    ed25519::MuxedAccount { ed25519: *key, id }
        .to_string()
        .as_str()
        .to_owned()
}

pub fn c(hash: &[u8; 32]) -> String {
    Contract(*hash).to_string().as_str().to_owned()
}

pub fn l(hash: &[u8; 32]) -> String {
    LiquidityPool(*hash).to_string().as_str().to_owned()
}

pub fn b(id: &ClaimableBalanceId) -> String {
    let ClaimableBalanceId::ClaimableBalanceIdTypeV0(Hash(h)) = id;
    Strkey::ClaimableBalance(ClaimableBalance::V0(*h))
        .to_string()
        .as_str()
        .to_owned()
}

pub fn account_key(id: &AccountId) -> &[u8; 32] {
    let PublicKey::PublicKeyTypeEd25519(k) = &id.0;
    &k.0
}

pub fn account(id: &AccountId) -> String {
    g(account_key(id))
}

/// An account with its muxed form: `G…`, and `M…`/id when muxed.
#[derive(Clone, Debug)]
pub struct Account {
    pub key: [u8; 32],
    pub g: String,
    pub muxed: Option<String>,
}

impl Account {
    pub fn plain(key: &[u8; 32]) -> Self {
        Account {
            key: *key,
            g: g(key),
            muxed: None,
        }
    }

    pub fn of(value: &MuxedAccount) -> Self {
        match value {
            MuxedAccount::Ed25519(k) => Account::plain(&k.0),
            MuxedAccount::MuxedEd25519(med) => Account {
                key: med.ed25519.0,
                g: g(&med.ed25519.0),
                muxed: Some(m(&med.ed25519.0, med.id)),
            },
        }
    }

    /// `M…` when muxed, else `G…` (Go's `MuxedAccount.Address()`).
    pub fn address(&self) -> &str {
        self.muxed.as_deref().unwrap_or(&self.g)
    }
}

/// Strkey of an `ScAddress`.
pub fn sc_address(a: &ScAddress) -> Result<String> {
    Ok(match a {
        ScAddress::Account(id) => account(id),
        ScAddress::Contract(id) => c(&id.0 .0),
        ScAddress::MuxedAccount(mx) => m(&mx.ed25519.0, mx.id),
        ScAddress::ClaimableBalance(id) => b(id),
        ScAddress::LiquidityPool(id) => l(&id.0 .0),
        #[allow(unreachable_patterns)]
        _ => return Err(Error::unsupported("SCAddress type newer than stellar-sdk")),
    })
}

const HEX: &[u8; 16] = b"0123456789abcdef";

pub fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for &x in bytes {
        s.push(HEX[(x >> 4) as usize] as char);
        s.push(HEX[(x & 15) as usize] as char);
    }
    s
}

/// UTF-8 text with invalid sequences replaced by U+FFFD (Python's `errors="replace"`).
pub fn text(raw: &[u8]) -> String {
    String::from_utf8_lossy(raw).into_owned()
}

/// `asset_type`, `asset_code`, `asset_issuer` and the canonical `native` / `CODE:ISSUER`.
pub struct AssetParts {
    pub canonical: String,
    pub asset_type: &'static str,
    pub code: Option<String>,
    pub issuer: Option<String>,
}

fn code(raw: &[u8]) -> String {
    let end = raw.iter().rposition(|&x| x != 0).map_or(0, |p| p + 1);
    text(&raw[..end])
}

pub fn asset_parts(asset: &Asset) -> AssetParts {
    let (asset_type, code, issuer) = match asset {
        Asset::Native => {
            return AssetParts {
                canonical: "native".into(),
                asset_type: "native",
                code: None,
                issuer: None,
            }
        }
        Asset::CreditAlphanum4(a) => ("credit_alphanum4", code(&a.asset_code.0), &a.issuer),
        Asset::CreditAlphanum12(a) => ("credit_alphanum12", code(&a.asset_code.0), &a.issuer),
    };
    let issuer = account(issuer);
    AssetParts {
        canonical: format!("{code}:{issuer}"),
        asset_type,
        code: Some(code),
        issuer: Some(issuer),
    }
}

/// What the processors need of an asset: its SAC id on the network and its parts.
pub struct AssetInfo {
    /// `C…` of the asset's Stellar Asset Contract.
    pub sac: String,
    pub sac_raw: [u8; 32],
    pub parts: AssetParts,
}

/// [`AssetInfo`] per asset on one network (memoized).
pub struct SacIds {
    network_id: [u8; 32],
    cache: HashMap<Asset, AssetInfo>,
}

impl SacIds {
    pub fn new(network_id: [u8; 32]) -> Self {
        SacIds {
            network_id,
            cache: HashMap::new(),
        }
    }

    pub fn get(&mut self, asset: &Asset) -> Result<&AssetInfo> {
        if !self.cache.contains_key(asset) {
            let preimage = HashIdPreimage::ContractId(HashIdPreimageContractId {
                network_id: Hash(self.network_id),
                contract_id_preimage: ContractIdPreimage::Asset(asset.clone()),
            });
            let raw: [u8; 32] = Sha256::digest(preimage.to_xdr(Limits::none())?).into();
            let info = AssetInfo {
                sac: c(&raw),
                sac_raw: raw,
                parts: asset_parts(asset),
            };
            self.cache.insert(asset.clone(), info);
        }
        Ok(&self.cache[asset])
    }
}

/// `native` or `CODE:ISSUER` (SEP-11) → asset; `None` when malformed (as the Python reference).
pub fn parse_asset(text: &str) -> Option<Asset> {
    use stellar_xdr::{AlphaNum12, AlphaNum4, AssetCode12, AssetCode4, Uint256};
    if text == "native" {
        return Some(Asset::Native);
    }
    let (code, issuer) = text.split_once(':').unwrap_or((text, ""));
    if code.is_empty() || code.chars().count() > 12 || !code.is_ascii() {
        return None;
    }
    let key = ed25519::PublicKey::from_string(issuer).ok()?;
    // The strkey must round-trip (Python's decoder rejects non-canonical encodings).
    if ed25519::PublicKey(key.0).to_string().as_str() != issuer {
        return None;
    }
    let issuer = AccountId(PublicKey::PublicKeyTypeEd25519(Uint256(key.0)));
    let raw = code.as_bytes();
    Some(if raw.len() <= 4 {
        let mut c4 = [0u8; 4];
        c4[..raw.len()].copy_from_slice(raw);
        Asset::CreditAlphanum4(AlphaNum4 {
            asset_code: AssetCode4(c4),
            issuer,
        })
    } else {
        let mut c12 = [0u8; 12];
        c12[..raw.len()].copy_from_slice(raw);
        Asset::CreditAlphanum12(AlphaNum12 {
            asset_code: AssetCode12(c12),
            issuer,
        })
    })
}

/// `G…` → (`G…`, None); `M…` → (its `G…`, Some(id)); anything else → `None`.
pub fn split_account(addr: &str) -> Result<Option<(String, Option<u64>)>> {
    if addr.starts_with('G') {
        return Ok(Some((addr.to_owned(), None)));
    }
    if addr.starts_with('M') {
        let mx = ed25519::MuxedAccount::from_string(addr)
            .map_err(|_| Error::invalid(format!("bad M address {addr}")))?;
        return Ok(Some((g(&mx.ed25519), Some(mx.id))));
    }
    Ok(None)
}

/// `G…` of a `PublicKey` (e.g. a `NodeId`).
pub fn public_key(key: &PublicKey) -> String {
    let PublicKey::PublicKeyTypeEd25519(k) = key;
    g(&k.0)
}
