-- 001_init.sql: accounts and tenants, contacts, messages, media, and the
-- event outbox. Later migrations add what each capability needs.
--
-- Tables only, as in every migration; the functions are in schema/functions/
-- (wa_emit, which writes to the outbox: functions/events.sql).

CREATE TABLE tenants (
	id			uuid PRIMARY KEY DEFAULT gen_random_uuid(),
	name			text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
	phone_number_id		text NOT NULL UNIQUE,
	waba_id			text NOT NULL,
	display_phone_number	text,
	access_token		text NOT NULL,
	catalog_id		text,
	-- Per-tenant switches, e.g. {"window_check": false, "poll": true}.
	settings		jsonb NOT NULL DEFAULT '{}',
	created_at		timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE users (
	id		uuid PRIMARY KEY DEFAULT gen_random_uuid(),
	email		text NOT NULL UNIQUE CHECK (email = lower(email)),
	password_hash	text NOT NULL,		-- argon2id (libsodium)
	created_at	timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE memberships (
	user_id		uuid NOT NULL REFERENCES users ON DELETE CASCADE,
	tenant_id	uuid NOT NULL REFERENCES tenants ON DELETE CASCADE,
	role		text NOT NULL CHECK (role IN ('owner', 'agent')),
	PRIMARY KEY (user_id, tenant_id)
);
CREATE INDEX memberships_tenant ON memberships (tenant_id);

-- Tokens ended by logout before their expiry; swept once expired.
CREATE TABLE revoked_tokens (
	jti		uuid PRIMARY KEY,
	expires_at	timestamptz NOT NULL
);

-- A customer of a tenant. Meta may send a business-scoped user id (BSUID)
-- without a phone-based wa_id, so either identifies the contact.
CREATE TABLE contacts (
	id		bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	tenant_id	uuid NOT NULL REFERENCES tenants ON DELETE CASCADE,
	wa_id		text,
	user_id		text,
	name		text,
	last_inbound_at	timestamptz,	-- Meta's timestamp: opens the 24 h window
	last_activity_at timestamptz NOT NULL DEFAULT now(),
	read_upto_id	bigint NOT NULL DEFAULT 0,	-- incoming ids <= this are read
	created_at	timestamptz NOT NULL DEFAULT now(),
	CHECK (wa_id IS NOT NULL OR user_id IS NOT NULL)
);
CREATE UNIQUE INDEX contacts_tenant_wa_id ON contacts (tenant_id, wa_id)
	WHERE wa_id IS NOT NULL;
CREATE UNIQUE INDEX contacts_tenant_user_id ON contacts (tenant_id, user_id)
	WHERE user_id IS NOT NULL;
CREATE INDEX contacts_activity ON contacts (tenant_id, last_activity_at DESC, id DESC);

CREATE TABLE messages (
	id		bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	tenant_id	uuid NOT NULL REFERENCES tenants ON DELETE CASCADE,
	contact_id	bigint NOT NULL REFERENCES contacts ON DELETE CASCADE,
	wamid		text,		-- NULL while an outgoing send is pending
	direction	text NOT NULL CHECK (direction IN ('in', 'out')),
	type		text NOT NULL,
	text		text,		-- body, or a media caption
	media_id	text,		-- WhatsApp's media id
	media_mime	text,
	media_sha256	text,
	media_filename	text,
	content		jsonb,		-- type-specific normalized fields
	context_wamid	text,		-- the message this one replies to
	forwarded	boolean NOT NULL DEFAULT false,
	frequently_forwarded boolean NOT NULL DEFAULT false,
	-- in: received | read; out: pending | accepted | sent | delivered |
	-- read | played | failed
	status		text NOT NULL,
	status_times	jsonb NOT NULL DEFAULT '{}',	-- {"sent": unix, ...}
	error		jsonb,		-- Meta's error when failed
	meta_ts		timestamptz,	-- Meta's timestamp
	raw		jsonb,		-- the original JSON
	created_at	timestamptz NOT NULL DEFAULT now(),
	UNIQUE (tenant_id, wamid)
);
CREATE INDEX messages_contact ON messages (contact_id, id DESC);

-- One reaction per side per message; a new emoji replaces, none clears.
CREATE TABLE reactions (
	tenant_id	uuid NOT NULL REFERENCES tenants ON DELETE CASCADE,
	target_wamid	text NOT NULL,
	direction	text NOT NULL CHECK (direction IN ('in', 'out')),
	emoji		text NOT NULL,
	wamid		text,		-- the reaction message itself
	reacted_at	timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (tenant_id, target_wamid, direction)
);

-- Media metadata only: the bytes stay at Meta and are fetched on demand.
CREATE TABLE media (
	id		uuid PRIMARY KEY DEFAULT gen_random_uuid(),
	tenant_id	uuid NOT NULL REFERENCES tenants ON DELETE CASCADE,
	wa_media_id	text NOT NULL,
	kind		text,		-- image | video | audio | document | sticker
	filename	text,
	mime_type	text NOT NULL,
	size		bigint,
	sha256		text,
	direction	text NOT NULL DEFAULT 'out' CHECK (direction IN ('in', 'out')),
	created_at	timestamptz NOT NULL DEFAULT now(),
	UNIQUE (tenant_id, wa_media_id)
);

-- The outbox: each event is written in the same transaction as the change
-- it describes. seq is the per-tenant number clients see (1, 2, 3, ...
-- without gaps); wa-pushd assigns it when it publishes, in commit order.
CREATE TABLE events (
	id		bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	tenant_id	uuid NOT NULL REFERENCES tenants ON DELETE CASCADE,
	seq		bigint,
	name		text NOT NULL,
	data		jsonb NOT NULL,
	created_at	timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX events_tenant_seq ON events (tenant_id, seq)
	WHERE seq IS NOT NULL;
CREATE INDEX events_unsequenced ON events (id) WHERE seq IS NULL;
