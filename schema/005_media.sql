-- 005_media.sql: GET /api/v1/media/{id} also takes the WhatsApp media id
-- of an incoming message, looked up per tenant; without this index that
-- lookup would scan the tenant's messages.
CREATE INDEX IF NOT EXISTS messages_media_id ON messages (tenant_id, media_id)
	WHERE media_id IS NOT NULL;
