// Guildhall's Fedify test peer: one Mastodon-style Person, `alice`, served by Fedify 2.3.6.
//
// Receiving goes through Fedify's own inbox code, so every delivery Guildhall makes is
// checked by an independent implementation of HTTP signatures (draft-cavage and RFC 9421).
// Sending also goes through Fedify (RFC 9421 first, draft-cavage after a 4xx/5xx).
// A small JSON control API under /_control/ drives alice and exposes what she received.
//
// Run with Node >= 22:  PEER_PORT=8700 PEER_ORIGIN=http://fedify.test:8700 \
//   PEER_RESOLVE=fedify.test=127.0.0.1,alpha.test=127.0.0.1 node peer.mjs
// See README.md for the environment variables and the control API.

import { AsyncLocalStorage } from "node:async_hooks";
import { randomUUID } from "node:crypto";
import dns from "node:dns";
import http from "node:http";
import net from "node:net";

import { Agent, setGlobalDispatcher } from "undici";
import { Temporal } from "@js-temporal/polyfill";
import { configure, getConsoleSink } from "@logtape/logtape";
import {
  createFederation,
  generateCryptoKeyPair,
  MemoryKvStore,
  SendActivityError,
} from "@fedify/fedify";
import {
  Accept,
  Activity,
  Announce,
  Create,
  Delete,
  Dislike,
  Endpoints,
  Follow,
  isActor,
  Like,
  Mention,
  Note,
  Page,
  Person,
  PUBLIC_COLLECTION,
  Reject,
  Tombstone,
  Undo,
  Update,
} from "@fedify/vocab";

// ---------------------------------------------------------------------------------------
// Configuration
// ---------------------------------------------------------------------------------------

const PORT = Number.parseInt(process.env.PEER_PORT ?? "", 10);
if (!Number.isInteger(PORT) || PORT <= 0 || PORT > 65535) {
  console.error("PEER_PORT must be a TCP port number");
  process.exit(2);
}
const BIND = process.env.PEER_BIND ?? "127.0.0.1";
const ORIGIN = new URL(process.env.PEER_ORIGIN ?? `http://127.0.0.1:${PORT}`).origin;
const LOG_LEVEL = process.env.PEER_LOG_LEVEL ?? "warning";
const FIRST_KNOCK = process.env.PEER_FIRST_KNOCK === "draft-cavage"
  ? "draft-cavage-http-signatures-12"
  : "rfc9421";
const USERNAME = "alice";

/** `host=ip,host=ip` → Map(host → ip). */
function parseResolve(spec) {
  const map = new Map();
  for (const pair of (spec ?? "").split(",")) {
    const item = pair.trim();
    if (item === "") continue;
    const eq = item.indexOf("=");
    const host = eq < 0 ? "" : item.slice(0, eq).trim().toLowerCase();
    const ip = eq < 0 ? "" : item.slice(eq + 1).trim();
    if (host === "" || net.isIP(ip) === 0) {
      console.error(`PEER_RESOLVE: cannot read ${JSON.stringify(item)} (want host=ip)`);
      process.exit(2);
    }
    map.set(host, ip);
  }
  return map;
}
const RESOLVE = parseResolve(process.env.PEER_RESOLVE);

// ---------------------------------------------------------------------------------------
// Outgoing HTTP: fixed host → IP table, every request logged
// ---------------------------------------------------------------------------------------

// Node's built-in fetch (which Fedify uses for lookups and deliveries) takes the undici
// global dispatcher; this Agent resolves the PEER_RESOLVE names itself. The URL (and so the
// port, the Host header and what gets signed) is left as it is.
function fixedLookup(hostname, options, callback) {
  if (typeof options === "function") {
    callback = options;
    options = {};
  }
  const ip = RESOLVE.get(String(hostname).toLowerCase());
  if (ip == null) return dns.lookup(hostname, options, callback);
  const family = net.isIP(ip);
  if (options?.all) callback(null, [{ address: ip, family }]);
  else callback(null, ip, family);
}
setGlobalDispatcher(new Agent({ connect: { lookup: fixedLookup } }));

/** Every HTTP request this process made (Fedify's GETs and deliveries), oldest first. */
const outgoing = [];
const builtinFetch = globalThis.fetch;
globalThis.fetch = async function loggingFetch(input, init) {
  const request = input instanceof Request ? input : null;
  const headers = new Headers(init?.headers ?? request?.headers ?? undefined);
  const entry = {
    at: new Date().toISOString(),
    method: (init?.method ?? request?.method ?? "GET").toUpperCase(),
    url: String(request?.url ?? input),
    signature: signatureScheme(headers),
    keyId: signatureKeyId(headers),
    status: null,
    error: null,
  };
  outgoing.push(entry);
  try {
    const response = await builtinFetch(input, init);
    entry.status = response.status;
    return response;
  } catch (error) {
    entry.error = String(error?.cause ?? error);
    throw error;
  }
};

function signatureScheme(headers) {
  if (headers.has("signature-input")) return "rfc9421";
  if (headers.has("signature")) return "draft-cavage";
  return "none";
}

function signatureKeyId(headers) {
  const input = headers.get("signature-input");
  if (input != null) return /keyid="([^"]*)"/i.exec(input)?.[1] ?? null;
  const sig = headers.get("signature");
  if (sig != null) return /keyId="([^"]*)"/.exec(sig)?.[1] ?? null;
  return null;
}

// ---------------------------------------------------------------------------------------
// In-memory state
// ---------------------------------------------------------------------------------------

/** Activities Fedify verified and handed to alice's inbox listeners, in arrival order. */
const received = [];
let receivedSeq = 0; // keeps counting across DELETE /_control/inbox
/** Inbox POSTs that Fedify refused (bad or missing signature, bad JSON, …). */
const refused = [];
/** Objects and activities alice made: id → { json, vocab, group, deleted }. */
const authored = new Map();
/** Alice's Follows: target actor URL → { follow (vocab), state }. */
const following = new Map();
/** Alice's Likes: object URL → { like (vocab), group }. */
const likes = new Map();
/** Actors following alice: actor URL → { id, inboxId, endpoints }. */
const followers = new Map();
/** Create activities by alice, newest last (her outbox). */
const outbox = [];

let keyPairs = null; // [RSA, Ed25519], generated at start
let ready = false;

// ---------------------------------------------------------------------------------------
// Federation
// ---------------------------------------------------------------------------------------

const federation = createFederation({
  kv: new MemoryKvStore(),
  origin: ORIGIN,
  allowPrivateAddress: true,
  firstKnock: FIRST_KNOCK,
});

federation
  .setActorDispatcher("/users/{identifier}", async (ctx, identifier) => {
    if (identifier !== USERNAME) return null;
    const keys = await ctx.getActorKeyPairs(identifier);
    return new Person({
      id: ctx.getActorUri(identifier),
      preferredUsername: identifier,
      name: "Fedify peer alice",
      summary: "Test actor of an independent Fedify-based peer",
      url: ctx.getActorUri(identifier),
      inbox: ctx.getInboxUri(identifier),
      outbox: ctx.getOutboxUri(identifier),
      followers: ctx.getFollowersUri(identifier),
      following: ctx.getFollowingUri(identifier),
      endpoints: new Endpoints({ sharedInbox: ctx.getInboxUri() }),
      manuallyApprovesFollowers: false,
      discoverable: true,
      publicKey: keys[0].cryptographicKey,
      assertionMethods: keys.map((k) => k.multikey),
    });
  })
  .mapHandle((_ctx, username) => (username === USERNAME ? USERNAME : null))
  .setKeyPairsDispatcher((_ctx, identifier) => (identifier === USERNAME ? keyPairs : []));

federation
  .setOutboxDispatcher("/users/{identifier}/outbox", (_ctx, identifier) => {
    if (identifier !== USERNAME) return null;
    return { items: outbox.filter((a) => !authored.get(a.objectId?.href)?.deleted).reverse() };
  })
  .setCounter((_ctx, identifier) => (identifier === USERNAME ? outbox.length : null));

federation
  .setFollowersDispatcher("/users/{identifier}/followers", (_ctx, identifier) => {
    if (identifier !== USERNAME) return null;
    return { items: [...followers.values()] };
  })
  .setCounter((_ctx, identifier) => (identifier === USERNAME ? followers.size : null));

federation
  .setFollowingDispatcher("/users/{identifier}/following", (_ctx, identifier) => {
    if (identifier !== USERNAME) return null;
    const accepted = [...following.entries()].filter(([, f]) => f.state === "accepted");
    return { items: accepted.map(([target]) => new URL(target)) };
  })
  .setCounter((_ctx, identifier) =>
    identifier === USERNAME
      ? [...following.values()].filter((f) => f.state === "accepted").length
      : null
  );

federation.setNodeInfoDispatcher("/nodeinfo/2.1", () => ({
  software: { name: "fedify-test-peer", version: "0.1.0" },
  protocols: ["activitypub"],
  services: { inbound: [], outbound: [] },
  openRegistrations: false,
  usage: {
    users: { total: 1 },
    localPosts: [...authored.values()].filter((o) => !o.deleted && o.kind === "post").length,
    localComments: [...authored.values()].filter((o) => !o.deleted && o.kind === "comment").length,
  },
  metadata: {},
}));

/** Records an activity that got through Fedify's verification into alice's inbox. */
function record(ctx, activity) {
  const data = ctx.data ?? {};
  const raw = data.raw ?? null;
  received.push({
    seq: ++receivedSeq,
    receivedAt: new Date().toISOString(),
    type: typeof raw?.type === "string" ? raw.type : activity.constructor.name,
    id: raw?.id ?? activity.id?.href ?? null,
    actor: actorIdOf(raw) ?? activity.actorId?.href ?? null,
    object: raw?.object ?? null,
    inbox: ctx.recipient == null ? "shared" : "personal",
    path: data.path ?? null,
    signature: data.signature ?? null,
    keyId: data.keyId ?? null,
    raw,
  });
}

function actorIdOf(raw) {
  const actor = raw?.actor;
  if (typeof actor === "string") return actor;
  if (actor != null && typeof actor === "object" && typeof actor.id === "string") return actor.id;
  return null;
}

/** The id of an activity's `object`, embedded or not. */
function objectIdOf(raw) {
  const object = raw?.object;
  if (typeof object === "string") return object;
  if (object != null && typeof object === "object" && typeof object.id === "string") return object.id;
  return null;
}

/** Accept/Reject of one of alice's Follows: move it to accepted/rejected. */
function settleFollow(ctx, state) {
  const raw = ctx.data?.raw;
  const followId = objectIdOf(raw);
  const actor = actorIdOf(raw);
  for (const [target, f] of following) {
    if (f.follow.id?.href === followId || (followId == null && target === actor)) {
      f.state = state;
      f.settledBy = raw?.id ?? null;
    }
  }
}

federation
  .setInboxListeners("/users/{identifier}/inbox", "/inbox")
  .setSharedKeyDispatcher(() => ({ identifier: USERNAME }))
  .on(Accept, (ctx, activity) => {
    record(ctx, activity);
    settleFollow(ctx, "accepted");
  })
  .on(Reject, (ctx, activity) => {
    record(ctx, activity);
    settleFollow(ctx, "rejected");
  })
  .on(Follow, async (ctx, follow) => {
    record(ctx, follow);
    // A Mastodon-style account with manuallyApprovesFollowers=false accepts at once.
    if (objectIdOf(ctx.data?.raw) !== ctx.getActorUri(USERNAME).href) return;
    try {
      const follower = await follow.getActor(ctx);
      if (follower == null || follower.id == null) return;
      followers.set(follower.id.href, {
        id: follower.id,
        inboxId: follower.inboxId,
        endpoints: follower.endpoints,
      });
      const accept = new Accept({
        id: newId(),
        actor: ctx.getActorUri(USERNAME),
        object: follow,
        to: follower.id,
      });
      await remember(ctx, accept, null, "activity");
      await ctx.sendActivity({ identifier: USERNAME }, follower, accept, { immediate: true });
    } catch (error) {
      console.error("accepting a Follow failed:", error);
    }
  })
  .on(Undo, (ctx, activity) => {
    record(ctx, activity);
    const inner = ctx.data?.raw?.object;
    if (inner?.type === "Follow") followers.delete(actorIdOf(ctx.data.raw));
  })
  .on(Announce, record)
  .on(Create, record)
  .on(Update, record)
  .on(Delete, record)
  .on(Like, record)
  .on(Dislike, record)
  // Anything else Fedify verified (Add, Remove, Block, Flag, …) is kept as well.
  .on(Activity, record)
  .onUnverifiedActivity((ctx, _activity, reason) => {
    // Not recorded as received; noted for diagnostics. Returning nothing keeps Fedify's 401.
    const data = ctx.data ?? {};
    if (data.refusal != null) data.refusal.reason = reason?.type ?? String(reason);
    return undefined;
  })
  .onError((ctx, error) => {
    console.error("inbox listener failed:", error);
  });

// ---------------------------------------------------------------------------------------
// Helpers for the control API
// ---------------------------------------------------------------------------------------

function newId() {
  return new URL(`/objects/${randomUUID()}`, ORIGIN);
}

function baseContext() {
  return federation.createContext(new URL(ORIGIN), {});
}

/** Serialises a vocabulary object as Fedify would serve it and keeps it for GET. */
async function remember(ctx, object, group, kind) {
  const json = await object.toJsonLd({ contextLoader: ctx.contextLoader });
  authored.set(object.id.href, { json, vocab: object, group, kind, deleted: false });
  return json;
}

/** Fetches a remote object with signed GETs as alice (Fedify's authenticated loader). */
async function fetchRemote(ctx, url) {
  const documentLoader = await ctx.getDocumentLoader({ identifier: USERNAME });
  const object = await ctx.lookupObject(url, { documentLoader });
  if (object == null) throw new HttpError(502, `could not dereference ${url}`);
  return object;
}

async function fetchActor(ctx, url) {
  const actor = await fetchRemote(ctx, url);
  if (!isActor(actor)) throw new HttpError(502, `${url} is not an actor (${actor.constructor.name})`);
  return actor;
}

/** Delivers with Fedify right away (no queue, no retries); errors become HTTP 502. */
async function deliver(ctx, recipient, activity) {
  try {
    await ctx.sendActivity({ identifier: USERNAME }, recipient, activity, {
      immediate: true,
      preferSharedInbox: true,
    });
  } catch (error) {
    if (error instanceof SendActivityError) {
      throw new HttpError(502, `delivery to ${error.inbox?.href} failed with HTTP ${error.statusCode}`, {
        inbox: error.inbox?.href ?? null,
        status: error.statusCode,
        body: error.responseBody ?? null,
      });
    }
    throw new HttpError(502, `delivery failed: ${error?.message ?? error}`);
  }
}

class HttpError extends Error {
  constructor(status, message, extra = {}) {
    super(message);
    this.status = status;
    this.extra = extra;
  }
}

function requireUrl(body, field) {
  const value = body?.[field];
  if (typeof value !== "string" || !URL.canParse(value)) {
    throw new HttpError(400, `"${field}" must be an absolute URL`);
  }
  return value;
}

function requireString(body, field) {
  const value = body?.[field];
  if (typeof value !== "string" || value === "") throw new HttpError(400, `"${field}" must be a non-empty string`);
  return value;
}

/** `@name@host[:port]` of an actor, as Mastodon writes mentions. */
function handleOf(actor) {
  const name = typeof actor.preferredUsername === "string"
    ? actor.preferredUsername
    : String(actor.preferredUsername ?? "group");
  return `@${name}@${actor.id.host}`;
}

function escapeHtml(text) {
  return text.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
}

/** Mastodon puts the mention inside the first paragraph of the status. */
function withMention(content, group) {
  const name = handleOf(group).split("@")[1];
  const href = escapeHtml((group.url instanceof URL ? group.url : group.id).href);
  const link = `<span class="h-card" translate="no"><a href="${href}" class="u-url mention">@<span>${escapeHtml(name)}</span></a></span>`;
  if (content.startsWith("<p>")) return `<p>${link} ${content.slice(3)}`;
  return `<p>${link}</p>${content}`;
}

// ---------------------------------------------------------------------------------------
// Control API
// ---------------------------------------------------------------------------------------

const control = {
  "GET health": () => (ready ? { ok: true, actor: new URL(`/users/${USERNAME}`, ORIGIN).href } : null),

  "GET inbox": () => ({ activities: received }),
  "DELETE inbox": () => {
    received.length = 0;
    refused.length = 0;
    return { ok: true };
  },
  "GET refused": () => ({ requests: refused }),
  "GET outgoing": () => ({ requests: outgoing }),
  "GET following": () => ({
    following: [...following.entries()].map(([target, f]) => ({
      target,
      follow: f.follow.id.href,
      state: f.state,
      settledBy: f.settledBy ?? null,
    })),
  }),
  "GET followers": () => ({ followers: [...followers.keys()] }),

  "POST follow": async (body) => {
    const target = requireUrl(body, "target");
    const ctx = baseContext();
    const actor = await fetchActor(ctx, target);
    const follow = new Follow({
      id: newId(),
      actor: ctx.getActorUri(USERNAME),
      object: actor.id,
      to: actor.id,
    });
    await remember(ctx, follow, actor.id.href, "activity");
    following.set(actor.id.href, { follow, state: "pending" });
    await deliver(ctx, actor, follow);
    return { id: follow.id.href };
  },

  "POST unfollow": async (body) => {
    const target = requireUrl(body, "target");
    const ctx = baseContext();
    const actor = await fetchActor(ctx, target);
    const entry = following.get(actor.id.href);
    if (entry == null) throw new HttpError(409, `alice never followed ${target}`);
    const undo = new Undo({
      id: newId(),
      actor: ctx.getActorUri(USERNAME),
      object: entry.follow,
      to: actor.id,
    });
    await remember(ctx, undo, actor.id.href, "activity");
    await deliver(ctx, actor, undo);
    following.delete(actor.id.href);
    return { id: undo.id.href, object: entry.follow.id.href };
  },

  "POST post": async (body) => {
    const groupUrl = requireUrl(body, "group");
    const content = requireString(body, "content");
    const type = body.type ?? "Note";
    if (type !== "Note" && type !== "Page") throw new HttpError(400, `"type" must be "Note" or "Page"`);
    const name = body.name == null ? null : String(body.name);
    if (type === "Page" && name == null) throw new HttpError(400, `a Page needs a "name"`);
    const ctx = baseContext();
    const group = await fetchActor(ctx, groupUrl);
    const me = ctx.getActorUri(USERNAME);
    const published = Temporal.Now.instant();
    let object;
    let create;
    if (type === "Page") {
      // FEP-1b12 style, as Lemmy users post.
      object = new Page({
        id: newId(),
        attribution: me,
        name,
        content,
        mediaType: "text/html",
        published,
        tos: [group.id, PUBLIC_COLLECTION],
        audience: group.id,
      });
      create = new Create({
        id: newId(),
        actor: me,
        object,
        tos: [group.id, PUBLIC_COLLECTION],
        cc: group.id,
        audience: group.id,
      });
    } else {
      // Mastodon style: a public status that mentions the group.
      const ccs = [group.id, ctx.getFollowersUri(USERNAME)];
      object = new Note({
        id: newId(),
        attribution: me,
        ...(name == null ? {} : { name }),
        content: withMention(content, group),
        mediaType: "text/html",
        published,
        to: PUBLIC_COLLECTION,
        ccs,
        tags: [new Mention({ href: group.id, name: handleOf(group) })],
      });
      create = new Create({ id: newId(), actor: me, object, to: PUBLIC_COLLECTION, ccs });
    }
    await remember(ctx, object, group.id.href, "post");
    await remember(ctx, create, group.id.href, "activity");
    outbox.push(create);
    await deliver(ctx, group, create);
    return { id: create.id.href, object: object.id.href };
  },

  "POST reply": async (body) => {
    const inReplyTo = requireUrl(body, "inReplyTo");
    const groupUrl = requireUrl(body, "group");
    const content = requireString(body, "content");
    const ctx = baseContext();
    const group = await fetchActor(ctx, groupUrl);
    const parent = await fetchRemote(ctx, inReplyTo);
    const me = ctx.getActorUri(USERNAME);
    const tos = [PUBLIC_COLLECTION, group.id];
    const ccs = [parent.attributionId, group.followersId].filter((u) => u != null);
    const published = Temporal.Now.instant();
    const note = new Note({
      id: newId(),
      attribution: me,
      content,
      mediaType: "text/html",
      published,
      replyTarget: parent.id ?? new URL(inReplyTo),
      tos,
      ccs,
      audience: group.id,
    });
    const create = new Create({ id: newId(), actor: me, object: note, tos, ccs, audience: group.id });
    await remember(ctx, note, group.id.href, "comment");
    await remember(ctx, create, group.id.href, "activity");
    outbox.push(create);
    await deliver(ctx, group, create);
    return { id: create.id.href, object: note.id.href };
  },

  "POST like": async (body) => {
    const objectUrl = requireUrl(body, "object");
    const groupUrl = requireUrl(body, "group");
    const ctx = baseContext();
    const group = await fetchActor(ctx, groupUrl);
    const like = new Like({
      id: newId(),
      actor: ctx.getActorUri(USERNAME),
      object: new URL(objectUrl),
      to: group.id,
      cc: PUBLIC_COLLECTION,
      audience: group.id,
    });
    await remember(ctx, like, group.id.href, "activity");
    likes.set(objectUrl, { like, group: group.id.href });
    await deliver(ctx, group, like);
    return { id: like.id.href, object: objectUrl };
  },

  "POST undo-like": async (body) => {
    const objectUrl = requireUrl(body, "object");
    const groupUrl = requireUrl(body, "group");
    const entry = likes.get(objectUrl);
    if (entry == null) throw new HttpError(409, `alice has no Like of ${objectUrl}`);
    const ctx = baseContext();
    const group = await fetchActor(ctx, groupUrl);
    const undo = new Undo({
      id: newId(),
      actor: ctx.getActorUri(USERNAME),
      object: entry.like,
      to: group.id,
      cc: PUBLIC_COLLECTION,
      audience: group.id,
    });
    await remember(ctx, undo, group.id.href, "activity");
    await deliver(ctx, group, undo);
    likes.delete(objectUrl);
    return { id: undo.id.href, object: entry.like.id.href };
  },

  "POST update": async (body) => {
    const objectUrl = requireUrl(body, "object");
    const content = requireString(body, "content");
    const entry = authored.get(objectUrl);
    if (entry == null || !(entry.vocab instanceof Note || entry.vocab instanceof Page)) {
      throw new HttpError(404, `${objectUrl} is not a Note or Page by alice`);
    }
    if (entry.deleted) throw new HttpError(409, `${objectUrl} was deleted`);
    const ctx = baseContext();
    const group = await fetchActor(ctx, entry.group);
    const old = entry.vocab;
    const isMention = old instanceof Note && old.replyTargetId == null && old.audienceId == null;
    const updated = old.clone({
      content: isMention ? withMention(content, group) : content,
      ...(body.name == null ? {} : { name: String(body.name) }),
      updated: Temporal.Now.instant(),
    });
    const update = new Update({
      id: newId(),
      actor: ctx.getActorUri(USERNAME),
      object: updated,
      tos: old.toIds,
      ccs: old.ccIds,
      audiences: old.audienceIds,
    });
    await remember(ctx, updated, entry.group, entry.kind);
    await remember(ctx, update, entry.group, "activity");
    await deliver(ctx, group, update);
    return { id: update.id.href, object: objectUrl };
  },

  "POST delete": async (body) => {
    const objectUrl = requireUrl(body, "object");
    const entry = authored.get(objectUrl);
    if (entry == null || !(entry.vocab instanceof Note || entry.vocab instanceof Page)) {
      throw new HttpError(404, `${objectUrl} is not a Note or Page by alice`);
    }
    const ctx = baseContext();
    const group = await fetchActor(ctx, entry.group);
    const old = entry.vocab;
    const del = new Delete({
      id: newId(),
      actor: ctx.getActorUri(USERNAME),
      object: new Tombstone({ id: old.id }),
      tos: old.toIds,
      ccs: old.ccIds,
      audiences: old.audienceIds,
    });
    entry.deleted = true;
    await remember(ctx, del, entry.group, "activity");
    await deliver(ctx, group, del);
    return { id: del.id.href, object: objectUrl };
  },
};

// ---------------------------------------------------------------------------------------
// HTTP server
// ---------------------------------------------------------------------------------------

const AP_TYPE = "application/activity+json";

function json(status, value, type = "application/json") {
  return new Response(JSON.stringify(value), { status, headers: { "Content-Type": type } });
}

async function handleControl(request, name) {
  const handler = control[`${request.method} ${name}`];
  if (handler == null) return json(404, { error: `no control endpoint ${request.method} /_control/${name}` });
  let body = null;
  if (request.method === "POST") {
    try {
      body = await request.json();
    } catch {
      return json(400, { error: "the body must be a JSON object" });
    }
    if (body == null || typeof body !== "object") return json(400, { error: "the body must be a JSON object" });
  }
  try {
    const result = await handler(body);
    if (result == null) return json(503, { error: "not ready" });
    return json(200, result);
  } catch (error) {
    if (error instanceof HttpError) return json(error.status, { error: error.message, ...error.extra });
    console.error(`/_control/${name} failed:`, error);
    return json(500, { error: String(error?.message ?? error) });
  }
}

/** GET /objects/<uuid>: what alice made, as stored; 410 + Tombstone once deleted. */
function serveObject(url) {
  const entry = authored.get(url.href);
  if (entry == null) return json(404, { error: "not found" });
  if (entry.deleted) {
    return json(410, {
      "@context": "https://www.w3.org/ns/activitystreams",
      id: url.href,
      type: "Tombstone",
      formerType: entry.vocab.constructor.name,
    }, AP_TYPE);
  }
  return json(200, entry.json, AP_TYPE);
}

function isInboxPath(pathname) {
  return pathname === "/inbox" || /^\/users\/[^/]+\/inbox$/.test(pathname);
}

async function route(request) {
  const url = new URL(request.url);
  if (url.pathname.startsWith("/_control/")) return handleControl(request, url.pathname.slice("/_control/".length));
  if (request.method === "GET" && url.pathname.startsWith("/objects/")) return serveObject(url);

  const data = {};
  let refusal = null;
  if (request.method === "POST" && isInboxPath(url.pathname)) {
    const text = await request.clone().text();
    try {
      data.raw = JSON.parse(text);
    } catch {
      data.raw = null;
    }
    data.path = url.pathname;
    data.signature = signatureScheme(request.headers);
    data.keyId = signatureKeyId(request.headers);
    refusal = {
      at: new Date().toISOString(),
      path: url.pathname,
      signature: data.signature,
      keyId: data.keyId,
      reason: null,
      headers: Object.fromEntries(request.headers),
      body: text,
    };
    data.refusal = refusal;
  }
  const response = await federation.fetch(request, {
    contextData: data,
    onNotFound: () => json(404, { error: "not found" }),
    onNotAcceptable: () => new Response("Ask for application/activity+json.", { status: 406 }),
  });
  if (refusal != null && response.status >= 400) {
    refusal.status = response.status;
    refusal.response = await response.clone().text();
    refused.push(refusal);
  }
  return response;
}

function toRequest(req, body) {
  const headers = new Headers();
  for (let i = 0; i < req.rawHeaders.length; i += 2) headers.append(req.rawHeaders[i], req.rawHeaders[i + 1]);
  const hasBody = req.method !== "GET" && req.method !== "HEAD";
  // The peer's public origin, whatever address it was reached at.
  return new Request(new URL(req.url, ORIGIN), {
    method: req.method,
    headers,
    body: hasBody ? body : undefined,
  });
}

const server = http.createServer(async (req, res) => {
  try {
    const chunks = [];
    for await (const chunk of req) chunks.push(chunk);
    const response = await route(toRequest(req, Buffer.concat(chunks)));
    const headers = {};
    for (const [k, v] of response.headers) headers[k] = v;
    res.writeHead(response.status, headers);
    res.end(req.method === "HEAD" ? undefined : Buffer.from(await response.arrayBuffer()));
  } catch (error) {
    console.error(`${req.method} ${req.url} failed:`, error);
    if (!res.headersSent) res.writeHead(500, { "Content-Type": "text/plain" });
    res.end("internal error");
  }
});

// ---------------------------------------------------------------------------------------
// Start
// ---------------------------------------------------------------------------------------

await configure({
  contextLocalStorage: new AsyncLocalStorage(),
  sinks: { console: getConsoleSink() },
  loggers: [
    { category: "fedify", lowestLevel: LOG_LEVEL, sinks: ["console"] },
    { category: ["logtape", "meta"], lowestLevel: "warning", sinks: ["console"] },
  ],
});

const rsa = await generateCryptoKeyPair("RSASSA-PKCS1-v1_5");
const ed25519 = await generateCryptoKeyPair("Ed25519");
keyPairs = [rsa, ed25519];

server.on("error", (error) => {
  console.error(`fedify peer: cannot listen on ${BIND}:${PORT}: ${error.message}`);
  process.exit(3);
});
server.listen(PORT, BIND, () => {
  ready = true;
  console.log(`fedify peer ready: ${ORIGIN}/users/${USERNAME} (listening on ${BIND}:${PORT})`);
});

function shutdown() {
  server.close();
  process.exit(0);
}
for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, shutdown);
// With PEER_EXIT_WITH_STDIN=1 the peer also stops when its stdin closes, so a test harness
// that dies without killing it (its end of the pipe closes) does not leave it running.
if (process.env.PEER_EXIT_WITH_STDIN === "1") {
  process.stdin.on("end", shutdown);
  process.stdin.on("close", shutdown);
  process.stdin.resume();
}
