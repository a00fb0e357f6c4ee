

CREATE TABLE public.address (
    address character varying(320) NOT NULL,
    blocked boolean NOT NULL,
    blocked_reason text NOT NULL,
    blocked_at timestamp without time zone,
    soft_count integer NOT NULL,
    last_class character varying(16) NOT NULL,
    last_reason character varying(64) NOT NULL,
    last_status character varying(16) NOT NULL,
    first_bounce timestamp without time zone,
    last_bounce timestamp without time zone,
    bounces integer NOT NULL,
    manual boolean NOT NULL
);

CREATE TABLE public.audit (
    id integer NOT NULL,
    at timestamp without time zone NOT NULL,
    address character varying(320) NOT NULL,
    action character varying(16) NOT NULL,
    actor character varying(128) NOT NULL,
    reason text NOT NULL
);

CREATE SEQUENCE public.audit_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

ALTER SEQUENCE public.audit_id_seq OWNED BY public.audit.id;

CREATE TABLE public.event (
    id integer NOT NULL,
    message_id integer NOT NULL,
    address character varying(320) NOT NULL,
    at timestamp without time zone NOT NULL,
    bounce_class character varying(16) NOT NULL,
    status character varying(16) NOT NULL,
    reply_code character varying(8) NOT NULL,
    reason character varying(64) NOT NULL,
    action character varying(16) NOT NULL,
    diagnostic text NOT NULL,
    remote_mta character varying(255) NOT NULL,
    feedback_type character varying(64) NOT NULL
);

CREATE SEQUENCE public.event_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

ALTER SEQUENCE public.event_id_seq OWNED BY public.event.id;

CREATE TABLE public.folder_cursor (
    id integer NOT NULL,
    mailbox character varying(128) NOT NULL,
    folder character varying(512) NOT NULL,
    uidvalidity bigint NOT NULL,
    last_uid bigint NOT NULL
);

CREATE SEQUENCE public.folder_cursor_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

ALTER SEQUENCE public.folder_cursor_id_seq OWNED BY public.folder_cursor.id;

CREATE TABLE public.meta (
    key character varying(64) NOT NULL,
    value text NOT NULL
);

CREATE TABLE public.pending_move (
    id integer NOT NULL,
    mailbox character varying(128) NOT NULL,
    folder character varying(512) NOT NULL,
    uidvalidity bigint NOT NULL,
    uid bigint NOT NULL,
    outcome character varying(16) NOT NULL
);

CREATE SEQUENCE public.pending_move_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

ALTER SEQUENCE public.pending_move_id_seq OWNED BY public.pending_move.id;

CREATE TABLE public.processed_message (
    id integer NOT NULL,
    fingerprint character varying(64) NOT NULL,
    mailbox character varying(128) NOT NULL,
    folder character varying(512) NOT NULL,
    uidvalidity bigint NOT NULL,
    uid bigint NOT NULL,
    outcome character varying(16) NOT NULL,
    kind character varying(32) NOT NULL,
    original_message_id character varying(998) NOT NULL,
    processed_at timestamp without time zone NOT NULL
);

CREATE SEQUENCE public.processed_message_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

ALTER SEQUENCE public.processed_message_id_seq OWNED BY public.processed_message.id;

ALTER TABLE ONLY public.audit ALTER COLUMN id SET DEFAULT nextval('public.audit_id_seq'::regclass);

ALTER TABLE ONLY public.event ALTER COLUMN id SET DEFAULT nextval('public.event_id_seq'::regclass);

ALTER TABLE ONLY public.folder_cursor ALTER COLUMN id SET DEFAULT nextval('public.folder_cursor_id_seq'::regclass);

ALTER TABLE ONLY public.pending_move ALTER COLUMN id SET DEFAULT nextval('public.pending_move_id_seq'::regclass);

ALTER TABLE ONLY public.processed_message ALTER COLUMN id SET DEFAULT nextval('public.processed_message_id_seq'::regclass);

ALTER TABLE ONLY public.address
    ADD CONSTRAINT address_pkey PRIMARY KEY (address);

ALTER TABLE ONLY public.audit
    ADD CONSTRAINT audit_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.event
    ADD CONSTRAINT event_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.folder_cursor
    ADD CONSTRAINT folder_cursor_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.meta
    ADD CONSTRAINT meta_pkey PRIMARY KEY (key);

ALTER TABLE ONLY public.pending_move
    ADD CONSTRAINT pending_move_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.processed_message
    ADD CONSTRAINT processed_message_pkey PRIMARY KEY (id);

CREATE INDEX address_blocked ON public.address USING btree (blocked);

CREATE INDEX audit_address ON public.audit USING btree (address);

CREATE INDEX event_address ON public.event USING btree (address);

CREATE INDEX event_message_id ON public.event USING btree (message_id);

CREATE UNIQUE INDEX folder_cursor_mailbox_folder ON public.folder_cursor USING btree (mailbox, folder);

CREATE UNIQUE INDEX pending_move_mailbox_folder_uidvalidity_uid ON public.pending_move USING btree (mailbox, folder, uidvalidity, uid);

CREATE UNIQUE INDEX processed_message_fingerprint ON public.processed_message USING btree (fingerprint);

CREATE INDEX processed_message_original_message_id ON public.processed_message USING btree (original_message_id);

ALTER TABLE ONLY public.event
    ADD CONSTRAINT event_message_id_fkey FOREIGN KEY (message_id) REFERENCES public.processed_message(id) ON DELETE CASCADE;


INSERT INTO meta VALUES ('schema_version','1');
INSERT INTO address VALUES ('old@example.org', false, '', NULL, 3, 'soft', 'mailboxfull', '5.2.2', '2026-01-01 10:00:00', '2026-01-03 10:00:00', 3, false);
INSERT INTO processed_message VALUES (1, 'aaaa', 'bounces', 'INBOX', 7, 1, 'Soft', 'dsn', '<orig-1@example.com>', '2026-01-03 10:00:00');
INSERT INTO event VALUES (1, 1, 'old@example.org', '2026-01-03 10:00:00', 'soft', '5.2.2', '552', 'mailboxfull', 'failed', 'mailbox full', 'mx.example.org', '');
SELECT setval('processed_message_id_seq', 1);
SELECT setval('event_id_seq', 1);
