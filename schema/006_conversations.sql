-- 006_conversations.sql: the indexes the inbox's queries need
-- (fcgi/api_conversations.c). The shape of a conversation row and of a
-- message in a history, and deleting a conversation, are in
-- functions/conversations.sql.

-- Unread counts probe (contact_id, id > read_upto_id) among incoming
-- messages: a range of this index, without visiting outgoing rows.
CREATE INDEX messages_contact_unread ON messages (contact_id, id)
	WHERE direction = 'in' AND type <> 'reaction';

-- Deleting a conversation keeps media records other conversations of the
-- tenant still use; this finds them (005_media.sql makes the same index).
CREATE INDEX IF NOT EXISTS messages_media_id ON messages (tenant_id, media_id)
	WHERE media_id IS NOT NULL;
