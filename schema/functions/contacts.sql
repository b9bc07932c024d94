-- functions/contacts.sql: the customer a webhook is about (table: contacts,
-- 001_init.sql), found or created by wa_id and/or BSUID, and the profile
-- names value.contacts[] carries.

-- The contact for a sender (wa_id and/or BSUID), created when new. Safe
-- against a concurrent delivery creating the same contact.
CREATE OR REPLACE FUNCTION wa_contact_resolve(p_tenant uuid, p_wa_id text,
    p_user_id text, p_name text) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
	v_id	bigint;
	v_wa	text;
BEGIN
	FOR i IN 1..3 LOOP
		v_id := NULL;
		IF p_wa_id IS NOT NULL THEN
			SELECT id INTO v_id FROM contacts
			WHERE tenant_id = p_tenant AND wa_id = p_wa_id;
		END IF;
		IF v_id IS NULL AND p_user_id IS NOT NULL THEN
			SELECT id, wa_id INTO v_id, v_wa FROM contacts
			WHERE tenant_id = p_tenant AND user_id = p_user_id;
			-- Known by BSUID only so far: learn its phone.
			IF v_id IS NOT NULL AND v_wa IS NULL AND
			    p_wa_id IS NOT NULL THEN
				UPDATE contacts SET wa_id = p_wa_id
				WHERE id = v_id;
			END IF;
		END IF;
		IF v_id IS NOT NULL THEN
			RETURN v_id;
		END IF;
		-- No arbiter: a conflict on either unique index means someone
		-- else just created it; look again.
		INSERT INTO contacts (tenant_id, wa_id, user_id, name)
		VALUES (p_tenant, p_wa_id, p_user_id, p_name)
		ON CONFLICT DO NOTHING RETURNING id INTO v_id;
		IF v_id IS NOT NULL THEN
			RETURN v_id;
		END IF;
	END LOOP;
	RAISE EXCEPTION 'contact wa_id=% user_id=% cannot be resolved',
	    p_wa_id, p_user_id;
END $$;

-- Profile names and BSUIDs from value.contacts[] for contacts we know;
-- writes only rows that change (one unique-index lookup per entry).
CREATE OR REPLACE FUNCTION wa_wh_contacts_refresh(p_tenant uuid, p_cts jsonb)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
	v_ct	jsonb;
	v_wa	text;
	v_uid	text;
	v_name	text;
BEGIN
	-- By index rather than FOR ... IN SELECT: no query to set up.
	FOR i IN 0 .. jsonb_array_length(p_cts) - 1 LOOP
		v_ct := p_cts->i;
		CONTINUE WHEN jsonb_typeof(v_ct) IS DISTINCT FROM 'object';
		v_wa := v_ct->>'wa_id';
		v_uid := v_ct->>'user_id';
		v_name := v_ct->'profile'->>'name';
		IF v_wa IS NOT NULL THEN
			UPDATE contacts c SET name = coalesce(v_name, c.name),
			    user_id = coalesce(c.user_id, CASE WHEN NOT EXISTS (
				SELECT 1 FROM contacts o WHERE
				o.tenant_id = p_tenant AND o.user_id = v_uid)
				THEN v_uid END)
			WHERE c.tenant_id = p_tenant AND c.wa_id = v_wa AND
			    (c.name IS DISTINCT FROM
				coalesce(v_name, c.name) OR
			    (c.user_id IS NULL AND v_uid IS NOT NULL));
		ELSIF v_uid IS NOT NULL THEN
			UPDATE contacts c SET name = v_name
			WHERE c.tenant_id = p_tenant AND c.user_id = v_uid AND
			    v_name IS NOT NULL AND
			    c.name IS DISTINCT FROM v_name;
		END IF;
	END LOOP;
END $$;
