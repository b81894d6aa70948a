// Checks ledger inclusion proofs in the browser (B3): the entry shown on the page is hashed here
// (SHA-256, RFC 9162 leaf prefix 0x00), the audit path is walked up to the signed tree head's root
// (node prefix 0x01), and the tree head's Ed25519 signature is checked with the ledger's public key
// where this browser's WebCrypto offers Ed25519. Nothing here trusts the server's own "ok".
"use strict";
(function () {
  const enc = new TextEncoder();

  function hex(bytes) {
    return Array.from(new Uint8Array(bytes), (b) => b.toString(16).padStart(2, "0")).join("");
  }
  function unhex(text) {
    const out = new Uint8Array(text.length / 2);
    for (let i = 0; i < out.length; i += 1) out[i] = parseInt(text.substr(i * 2, 2), 16);
    return out;
  }
  async function sha256(parts) {
    const total = parts.reduce((n, p) => n + p.length, 0);
    const joined = new Uint8Array(total);
    let at = 0;
    for (const p of parts) { joined.set(p, at); at += p.length; }
    return new Uint8Array(await crypto.subtle.digest("SHA-256", joined));
  }
  const leafHash = (data) => sha256([new Uint8Array([0]), data]);
  const nodeHash = (l, r) => sha256([new Uint8Array([1]), l, r]);

  // RFC 9162 section 2.1.3.2
  async function rootFromPath(index, size, leaf, path) {
    if (index >= size) return null;
    let fn = index; let sn = size - 1; let r = leaf;
    for (const p of path) {
      if (sn === 0) return null;
      if ((fn & 1) === 1 || fn === sn) {
        r = await nodeHash(p, r);
        if ((fn & 1) === 0) { while ((fn & 1) === 0 && fn !== 0) { fn >>= 1; sn >>= 1; } }
      } else {
        r = await nodeHash(r, p);
      }
      fn >>= 1; sn >>= 1;
    }
    return sn === 0 ? r : null;
  }

  let publicKey = null;
  async function ledgerKey() {
    if (publicKey !== null) return publicKey;
    try {
      const pem = await (await fetch("/console/ledger/public-key", { credentials: "same-origin" })).text();
      const der = Uint8Array.from(atob(pem.replace(/-----[^-]+-----/g, "").replace(/\s+/g, "")), (c) => c.charCodeAt(0));
      publicKey = await crypto.subtle.importKey("spki", der, { name: "Ed25519" }, false, ["verify"]);
    } catch (e) {
      publicKey = false;  // this browser's WebCrypto has no Ed25519
    }
    return publicKey;
  }

  async function fetchProof(index) {
    const response = await fetch(`/console/ledger/proof/${index}`, { credentials: "same-origin" });
    if (!response.ok) throw new Error("no proof");
    return response.json();
  }

  async function verify(button, given) {
    const index = Number(button.dataset.verify);
    const out = document.querySelector(`[data-verify-result="${index}"]`);
    out.textContent = "checking…";
    out.className = "";
    try {
      const proof = given || await fetchProof(index);
      const shown = enc.encode(button.dataset.leaf);
      const leaf = await leafHash(shown);
      if (hex(leaf) !== proof.leaf_hash) throw new Error("the entry shown is not the entry proven");
      if (proof.leaf_input !== button.dataset.leaf) throw new Error("the entry differs from the ledger's");
      const head = proof.tree_head;
      const root = await rootFromPath(index, head.tree_size, leaf, proof.audit_path.map(unhex));
      if (root === null || hex(root) !== head.root_hash) throw new Error("the audit path does not reach the signed root");
      let signature = "signature not checked (no Ed25519 in this browser)";
      const key = await ledgerKey();
      if (key) {
        const message = enc.encode(`cloudcip-tree-head-v1\n${head.tree_size}\n${head.root_hash}\n${head.timestamp_ms}\n`);
        const sig = Uint8Array.from(atob(head.signature), (c) => c.charCodeAt(0));
        if (!(await crypto.subtle.verify({ name: "Ed25519" }, key, sig, message))) throw new Error("the tree head signature is bad");
        signature = "signature good";
      }
      out.textContent = `verified: in the tree of ${head.tree_size} entries; ${signature}`;
      out.className = "ok";
      out.dataset.outcome = "verified";
    } catch (error) {
      out.textContent = `NOT verified: ${error.message}`;
      out.className = "bad";
      out.dataset.outcome = "failed";
    }
  }

  document.addEventListener("click", (event) => {
    const button = event.target.closest("[data-verify]");
    if (button) { verify(button); return; }
    if (event.target.closest("[data-verify-all]")) {
      const buttons = Array.from(document.querySelectorAll("[data-verify]"));
      const query = buttons.map((b) => `index=${Number(b.dataset.verify)}`).join("&");
      fetch(`/console/ledger/proofs?${query}`, { credentials: "same-origin" })
        .then((response) => (response.ok ? response.json() : { proofs: [] }))
        .then((data) => {
          const byIndex = new Map(data.proofs.map((p) => [p.index, p]));
          buttons.forEach((b) => verify(b, byIndex.get(Number(b.dataset.verify))));
        });
    }
  });
})();
