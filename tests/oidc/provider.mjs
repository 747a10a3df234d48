// A real OpenID provider for the tests: the certified oidc-provider package, on the loopback interface.
//
//   node tests/oidc/provider.mjs CONFIG.json
//
// CONFIG: {"port": 0, "keyId": "key-1", "clients": [...], "accounts": {...}}
//   clients:  oidc-provider client metadata, plus "tamper": "wrong-audience" | "expired" | "bad-signature" to
//             have this client's ID tokens spoiled after the provider issues them (below)
//   accounts: login name -> claims ({"email": ..., "email_verified": true, "amr": ["pwd", "mfa"], ...})
//
// Prints one line of JSON, {"issuer": "http://127.0.0.1:PORT"}, once it listens. The sign-in page is a plain
// form (login name only: the tests are not about passwords at the provider; "cancel" gives up); consent is
// given automatically.
//
// Spoiled ID tokens: the token endpoint's answer is rewritten before it leaves, so the relying party receives a
// token with the wrong audience, or one that expired an hour ago (both signed with the provider's real key), or
// one signed by a key that is not the provider's but claims its key id. The relying party's own checks must
// refuse each.

import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';

import * as jose from 'jose';
import Provider from 'oidc-provider';

const config = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const keyId = config.keyId || 'key-1';
const { privateKey } = await jose.generateKeyPair('RS256', { extractable: true });
const signingJwk = { ...(await jose.exportJWK(privateKey)), kid: keyId, alg: 'RS256', use: 'sig' };
const { privateKey: strangerKey } = await jose.generateKeyPair('RS256');

const tampering = Object.fromEntries(config.clients.filter((c) => c.tamper).map((c) => [c.client_id, c.tamper]));
const clients = config.clients.map(({ tamper, ...metadata }) => metadata);
const accounts = config.accounts || {};
// The subject ("sub", the account id) -> the claims of the login that last signed in with it. Two logins may
// share a subject: the same person before and after their organisation changed their e-mail address.
const current = new Map();

function escapeHtml(text) {
  return String(text).replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
}

function page(title, body) {
  return `<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title></head>`
    + `<body><h1>${escapeHtml(title)}</h1>${body}</body></html>`;
}

async function spoil(idToken, mode, clientId) {
  const claims = jose.decodeJwt(idToken);
  const now = Math.floor(Date.now() / 1000);
  let key = privateKey;
  if (mode === 'wrong-audience') {
    // Another service's token; azp still names this client, which a check of azp alone would accept.
    Object.assign(claims, { aud: 'another-service', azp: clientId });
  } else if (mode === 'expired') {
    Object.assign(claims, { iat: now - 7200, exp: now - 3600 });
  } else if (mode === 'bad-signature') {
    key = strangerKey;
  } else {
    throw new Error(`unknown tamper mode ${mode}`);
  }
  return new jose.SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid: keyId, typ: 'JWT' }).sign(key);
}

async function readForm(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

const server = createServer();
await new Promise((resolve) => { server.listen(config.port || 0, '127.0.0.1', resolve); });
const issuer = `http://127.0.0.1:${server.address().port}`;

const provider = new Provider(issuer, {
  clients,
  jwks: { keys: [signingJwk] },
  cookies: { keys: ['test-provider-cookie-key-not-secret'] },
  // amr and acr ride with the openid scope, so every ID token says how the person signed in (as many
  // providers' do), not only those the relying party asked for them by the claims parameter.
  claims: {
    openid: ['sub', 'amr', 'acr', 'auth_time'],
    email: ['email', 'email_verified', 'xms_edov'],
    profile: ['name', 'preferred_username'],
    sid: null,
  },
  // The ID token carries the e-mail claims itself (as Entra ID's does), not only the userinfo endpoint.
  conformIdTokenClaims: false,
  pkce: { required: () => true },
  features: {
    devInteractions: { enabled: false },
    rpInitiatedLogout: {
      enabled: true,
      async logoutSource(ctx, form) {
        ctx.body = page('Sign out of the test provider?', `${form}<button type="submit" form="op.logoutForm" `
          + 'name="logout" value="yes">Yes, sign me out</button>');
      },
      async postLogoutSuccessSource(ctx) {
        ctx.body = page('Signed out of the test provider', '<p>You have signed out.</p>');
      },
    },
  },
  async findAccount(ctx, id) {
    const account = current.get(id);
    if (!account) return undefined;
    const { amr, acr, sub, ...claims } = account;
    return { accountId: id, async claims() { return { sub: id, ...claims }; } };
  },
  // Consent is given automatically: these are the partnership's own applications.
  async loadExistingGrant(ctx) {
    const grantId = ctx.oidc.result?.consent?.grantId || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
    if (grantId) return ctx.oidc.provider.Grant.find(grantId);
    const grant = new ctx.oidc.provider.Grant({ clientId: ctx.oidc.client.clientId, accountId: ctx.oidc.session.accountId });
    grant.addOIDCScope('openid email profile');
    grant.addOIDCClaims(['email', 'email_verified', 'xms_edov', 'name', 'preferred_username']);
    await grant.save();
    return grant;
  },
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  async renderError(ctx, out) {
    ctx.type = 'html';
    ctx.body = page('Provider error', `<pre>${escapeHtml(JSON.stringify(out))}</pre>`);
  },
});

provider.use(async (ctx, next) => {
  await next();
  const mode = ctx.path === '/token' && ctx.status === 200 && ctx.body?.id_token
    ? tampering[ctx.oidc?.client?.clientId] : undefined;
  if (mode) ctx.body = { ...ctx.body, id_token: await spoil(ctx.body.id_token, mode, ctx.oidc.client.clientId) };
});

async function interaction(req, res) {
  const details = await provider.interactionDetails(req, res);
  if (req.method === 'GET') {
    res.setHeader('Content-Type', 'text/html; charset=utf-8');
    res.end(page('Sign in to the test provider', `<form method="post" action="/interaction/${details.uid}">`
      + '<label for="login">Login name</label> <input id="login" name="login" autocomplete="off">'
      + ' <button type="submit">Continue</button></form>'));
    return;
  }
  const login = (await readForm(req)).get('login') || '';
  if (login === 'cancel') {  // the person gives up at the provider
    await provider.interactionFinished(req, res, { error: 'access_denied', error_description: 'cancelled' });
    return;
  }
  const account = accounts[login];
  if (!account) {
    res.statusCode = 400;
    res.setHeader('Content-Type', 'text/html; charset=utf-8');
    res.end(page('No such test account', `<p>${escapeHtml(login)}</p>`));
    return;
  }
  const accountId = account.sub || login;
  current.set(accountId, account);
  const result = { login: { accountId, amr: account.amr, acr: account.acr } };
  await provider.interactionFinished(req, res, result, { mergeWithLastSubmission: false });
}

const callback = provider.callback();
server.on('request', (req, res) => {
  if (req.url.startsWith('/interaction/')) {
    interaction(req, res).catch((error) => {
      res.statusCode = 500;
      res.end(String(error));
    });
  } else {
    callback(req, res);
  }
});

process.stdout.write(`${JSON.stringify({ issuer })}\n`);
// Nothing to keep: the provider holds its sessions in memory only, and open keep-alive connections must not
// delay the end.
for (const signal of ['SIGTERM', 'SIGINT']) process.on(signal, () => process.exit(0));
