// Passkeys in the browser: the forms of the passkeys pages (data-passkey="create" or
// "get", with the server's options in data-options) and the passwordless button on the
// login page (data-passwordless-url). Each asks navigator.credentials, puts the answer
// (a PublicKeyCredential as JSON) in the form's "credential" field and posts it.
"use strict";

(() => {
  const toBytes = (text) => {
    const base64 = text.replace(/-/g, "+").replace(/_/g, "/");
    const padded = base64 + "=".repeat((4 - (base64.length % 4)) % 4);
    return Uint8Array.from(atob(padded), (c) => c.charCodeAt(0));
  };
  const fromBytes = (buffer) => {
    let text = "";
    for (const byte of new Uint8Array(buffer)) text += String.fromCharCode(byte);
    return btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  };
  const descriptors = (list) => (list || []).map((c) => ({ ...c, id: toBytes(c.id) }));

  const creationOptions = (o) => ({
    ...o,
    challenge: toBytes(o.challenge),
    user: { ...o.user, id: toBytes(o.user.id) },
    excludeCredentials: descriptors(o.excludeCredentials),
  });
  const requestOptions = (o) => ({
    ...o,
    challenge: toBytes(o.challenge),
    allowCredentials: descriptors(o.allowCredentials),
  });

  const credentialJSON = (credential) => {
    const r = credential.response;
    const response = { clientDataJSON: fromBytes(r.clientDataJSON) };
    if (r.attestationObject) {
      response.attestationObject = fromBytes(r.attestationObject);
      response.transports = r.getTransports ? r.getTransports() : [];
    } else {
      response.authenticatorData = fromBytes(r.authenticatorData);
      response.signature = fromBytes(r.signature);
      response.userHandle = r.userHandle ? fromBytes(r.userHandle) : null;
    }
    return JSON.stringify({
      id: credential.id,
      rawId: fromBytes(credential.rawId),
      type: credential.type,
      response,
      authenticatorAttachment: credential.authenticatorAttachment || null,
      clientExtensionResults: credential.getClientExtensionResults(),
    });
  };

  // The message of a ceremony the browser ended: cancelled, timed out, or another
  // failure (the browsers report the first two alike: told apart by the time taken).
  const failure = (error, started, timeoutMs, messages) => {
    if (error && error.name === "NotAllowedError") {
      return Date.now() - started >= timeoutMs * 0.95 ? messages.timeout : messages.cancelled;
    }
    return messages.failed;
  };

  const showError = (element, text) => {
    element.textContent = text;
    element.hidden = false;
  };

  const ceremony = async (kind, options, extra = {}) => {
    const publicKey = kind === "create" ? creationOptions(options) : requestOptions(options);
    const credential = await navigator.credentials[kind]({ publicKey, ...extra });
    return credentialJSON(credential);
  };

  // --- the passkeys pages
  for (const form of document.querySelectorAll("form[data-passkey]")) {
    const messages = form.dataset;
    const errorBox = document.getElementById("passkey-error");
    const button = form.querySelector("button[value=passkey]");
    if (!window.PublicKeyCredential) {
      showError(errorBox, messages.unsupported);
      if (button) button.disabled = true;
      continue;
    }
    form.addEventListener("submit", async (event) => {
      if (!event.submitter || event.submitter.value !== "passkey") return;
      event.preventDefault();
      errorBox.hidden = true;
      const options = JSON.parse(form.dataset.options);
      const started = Date.now();
      button.disabled = true;
      try {
        form.elements.credential.value = await ceremony(form.dataset.passkey, options);
      } catch (error) {
        button.disabled = false;
        showError(errorBox, failure(error, started, options.timeout || 60000, messages));
        return;
      }
      form.submit();
    });
  }

  // --- the login page: a passkey in place of the password
  const button = document.querySelector("button[data-passwordless-url]");
  if (!button || !window.PublicKeyCredential) return;
  const url = button.dataset.passwordlessUrl;
  const errorBox = document.getElementById("passwordless-error");
  const csrf = document.querySelector("input[name=csrf]").value;
  button.hidden = false;
  let waiting = null; // the conditional request (autofill), aborted by the button

  const options = async () => {
    const body = new FormData();
    body.append("csrf", csrf);
    const answer = await fetch(`${url}/options`, { method: "POST", body });
    const json = await answer.json();
    if (!answer.ok) throw Object.assign(new Error(json.message), { shown: json.message });
    return json;
  };
  const post = (challengeId, credential) => {
    const form = document.createElement("form");
    form.method = "post";
    form.action = url;
    for (const [name, value] of [["csrf", csrf], ["challenge_id", challengeId], ["credential", credential]]) {
      const input = document.createElement("input");
      input.type = "hidden";
      input.name = name;
      input.value = value;
      form.append(input);
    }
    document.body.append(form);
    form.submit();
  };

  button.addEventListener("click", async () => {
    if (waiting) waiting.abort();
    errorBox.hidden = true;
    let offered;
    try {
      offered = await options();
    } catch (error) {
      showError(errorBox, error.shown || error.message);
      return;
    }
    const started = Date.now();
    try {
      post(offered.challenge_id, await ceremony("get", offered.options));
    } catch (error) {
      const timeoutMs = offered.options.timeout || 60000;
      showError(errorBox, failure(error, started, timeoutMs, offered.messages));
    }
  });

  // conditional mediation: the browser offers its passkeys in the username field
  if (PublicKeyCredential.isConditionalMediationAvailable) {
    PublicKeyCredential.isConditionalMediationAvailable().then(async (available) => {
      if (!available) return;
      waiting = new AbortController();
      try {
        const offered = await options();
        const answer = await ceremony("get", offered.options, {
          mediation: "conditional",
          signal: waiting.signal,
        });
        post(offered.challenge_id, answer);
      } catch (error) {
        // aborted for the button, or dismissed: the button and the password remain
      }
    });
  }
})();
