"""Data of the reason table: status codes, the wording of every reason, remote-host rules (no logic).

``WORDING`` is the one table of phrases: for every reason of the vocabulary, what mail servers
write for it in English, German, French, Spanish, Italian, Portuguese, Dutch, Russian, Japanese
and Chinese. The English phrases and patterns, the status-code table and the remote-host rules
are ported from Sisimai (https://github.com/sisimai, BSD 2-Clause, Copyright (C) 2014-2024
azumakuniyuki): SMTP::Status, Reason/*.pm and Rhost/*.pm. The other languages are written from
the wording of the mail servers that answer in them (their standard replies and non-delivery
reports), kept generic: a phrase belongs here only if any server could write it. Used only by
``reasons.py``.
"""

from __future__ import annotations

from typing import NamedTuple

LANGUAGES = ("en", "de", "fr", "es", "it", "pt", "nl", "ru", "ja", "zh")

# fmt: off
STATUS_REASON: dict[str, str] = {
    '2.1.5': 'delivered',
    '4.1.6': 'hasmoved',
    '4.1.7': 'rejected',
    '4.1.8': 'rejected',
    '4.1.9': 'systemerror',
    '4.2.1': 'suspend',
    '4.2.2': 'mailboxfull',
    '4.2.3': 'exceedlimit',
    '4.2.4': 'filtered',
    '4.3.0': 'systemerror',
    '4.3.1': 'systemfull',
    '4.3.2': 'notaccept',
    '4.3.3': 'systemerror',
    '4.3.5': 'systemerror',
    '4.4.0': 'networkerror',
    '4.4.1': 'expired',
    '4.4.2': 'networkerror',
    '4.4.3': 'systemerror',
    '4.4.4': 'networkerror',
    '4.4.5': 'systemfull',
    '4.4.6': 'networkerror',
    '4.4.7': 'expired',
    '4.5.0': 'networkerror',
    '4.5.3': 'systemerror',
    '4.5.5': 'systemerror',
    '4.6.0': 'contenterror',
    '4.6.2': 'contenterror',
    '4.6.5': 'contenterror',
    '4.7.0': 'securityerror',
    '4.7.1': 'blocked',
    '4.7.2': 'blocked',
    '4.7.5': 'securityerror',
    '4.7.6': 'securityerror',
    '4.7.7': 'securityerror',
    '4.7.12': 'securityerror',
    '4.7.15': 'securityerror',
    '4.7.16': 'mesgtoobig',
    '4.7.24': 'securityerror',
    '4.7.25': 'blocked',
    '5.1.0': 'userunknown',
    '5.1.1': 'userunknown',
    '5.1.2': 'hostunknown',
    '5.1.3': 'userunknown',
    '5.1.4': 'filtered',
    '5.1.6': 'hasmoved',
    '5.1.7': 'rejected',
    '5.1.8': 'rejected',
    '5.1.9': 'systemerror',
    '5.1.10': 'notaccept',
    '5.2.0': 'filtered',
    '5.2.1': 'filtered',
    '5.2.2': 'mailboxfull',
    '5.2.3': 'exceedlimit',
    '5.2.4': 'filtered',
    '5.3.0': 'systemerror',
    '5.3.1': 'systemfull',
    '5.3.2': 'notaccept',
    '5.3.3': 'systemerror',
    '5.3.4': 'mesgtoobig',
    '5.3.5': 'systemerror',
    '5.4.0': 'networkerror',
    '5.4.3': 'systemerror',
    '5.4.4': 'hostunknown',
    '5.5.3': 'toomanyconn',
    '5.5.4': 'systemerror',
    '5.5.5': 'systemerror',
    '5.5.6': 'securityerror',
    '5.6.0': 'contenterror',
    '5.6.1': 'contenterror',
    '5.6.2': 'contenterror',
    '5.6.3': 'contenterror',
    '5.6.5': 'contenterror',
    '5.6.6': 'contenterror',
    '5.6.7': 'contenterror',
    '5.6.8': 'contenterror',
    '5.6.9': 'contenterror',
    '5.7.0': 'securityerror',
    '5.7.1': 'securityerror',
    '5.7.2': 'securityerror',
    '5.7.3': 'securityerror',
    '5.7.4': 'securityerror',
    '5.7.5': 'securityerror',
    '5.7.6': 'securityerror',
    '5.7.7': 'securityerror',
    '5.7.8': 'securityerror',
    '5.7.9': 'securityerror',
    '5.7.10': 'securityerror',
    '5.7.11': 'securityerror',
    '5.7.13': 'suspend',
    '5.7.14': 'securityerror',
    '5.7.15': 'securityerror',
    '5.7.16': 'mesgtoobig',
    '5.7.17': 'hasmoved',
    '5.7.18': 'hasmoved',
    '5.7.19': 'securityerror',
    '5.7.20': 'securityerror',
    '5.7.21': 'securityerror',
    '5.7.22': 'securityerror',
    '5.7.23': 'securityerror',
    '5.7.24': 'securityerror',
    '5.7.25': 'blocked',
    '5.7.26': 'securityerror',
    '5.7.27': 'notaccept',
}

class Wording(NamedTuple):
    """How mail servers word one reason.

    Phrases are lowercase substrings of the diagnostic text. ``" * "`` inside a phrase stands for
    a few words (up to 80 characters) between its parts: ``"adresse * n'existe pas"``. Accents,
    umlauts, ``ß``, ``ё`` and typographic quotes and dashes are folded the same way in phrases and
    in the text (``ä`` → ``ae``, ``é`` → ``e``, ``ß`` → ``ss``, ``ё`` → ``е``, ``’`` → ``'``), so a
    phrase matches a server that writes them and one that leaves them out."""

    en: tuple[str, ...] = ()
    de: tuple[str, ...] = ()
    fr: tuple[str, ...] = ()
    es: tuple[str, ...] = ()
    it: tuple[str, ...] = ()
    pt: tuple[str, ...] = ()
    nl: tuple[str, ...] = ()
    ru: tuple[str, ...] = ()
    ja: tuple[str, ...] = ()
    zh: tuple[str, ...] = ()
    pattern: str = ""  # one verbose regular expression: Sisimai's long alternations of English wording
    unless: tuple[str, ...] = ()  # phrases that veto the reason (the sender's address, not the recipient's)


# reason → its wording. Every reason of the vocabulary has an entry; the last four are decided by
# the structure of the report, not by its words.
WORDING: dict[str, Wording] = {
    "userunknown": Wording(
        en=(
            "bad destination mailbox address", "unknown or illegal user", "the recipient name is not recognized",
            "recipient not found", "address not found", "account not found", "addressee unknown",
            "user doesn't exist", "recipient address rejected.", "user does not exist", "not a valid user",
            "no such user", "unknown user", "user not known", "mailbox * does not exist", "address * does not exist",
            "account * does not exist", "user * does not exist", "recipient * does not exist",
            "user not local; please try",
        ),
        de=(
            "unbekannter empfänger", "empfänger unbekannt", "unbekannter benutzer", "benutzer unbekannt",
            "unbekannte e-mail-adresse", "unbekannte adresse", "adresse unbekannt", "ungültiger empfänger",
            "ungültige empfängeradresse", "kein solcher benutzer", "benutzer * existiert nicht",
            "empfänger * existiert nicht", "postfach * existiert nicht", "mailbox * existiert nicht",
            "adresse * existiert nicht", "konto * existiert nicht", "benutzer * nicht gefunden",
            "empfänger * nicht gefunden", "postfach * nicht gefunden",
        ),
        fr=(
            "utilisateur inconnu", "destinataire inconnu", "adresse inconnue", "boîte aux lettres inconnue",
            "utilisateur inexistant", "destinataire inexistant", "adresse inexistante", "compte inexistant",
            "boîte aux lettres inexistante", "utilisateur introuvable", "destinataire introuvable",
            "adresse * n'existe pas", "utilisateur * n'existe pas", "destinataire * n'existe pas",
            "boîte * n'existe pas", "compte * n'existe pas",
        ),
        es=(
            "usuario desconocido", "destinatario desconocido", "dirección desconocida", "usuario inexistente",
            "destinatario inexistente", "dirección inexistente", "cuenta inexistente", "usuario no encontrado",
            "destinatario no encontrado", "usuario * no existe", "destinatario * no existe",
            "dirección * no existe", "cuenta * no existe", "buzón * no existe", "no existe el usuario",
            "no existe la cuenta",
        ),
        it=(
            "utente sconosciuto", "destinatario sconosciuto", "indirizzo sconosciuto", "utente inesistente",
            "destinatario inesistente", "indirizzo inesistente", "casella inesistente", "utente non trovato",
            "destinatario non trovato", "utente * non esiste", "indirizzo * non esiste", "casella * non esiste",
            "destinatario * non esiste", "account * non esiste", "casella * non esistente",
            "indirizzo * non esistente", "utente * non esistente",
        ),
        pt=(
            "usuário desconhecido", "utilizador desconhecido", "destinatário desconhecido",
            "endereço desconhecido", "usuário inexistente", "utilizador inexistente", "destinatário inexistente",
            "endereço inexistente", "conta inexistente", "usuário não encontrado", "destinatário não encontrado",
            "usuário * não existe", "utilizador * não existe", "destinatário * não existe",
            "endereço * não existe", "conta * não existe", "caixa postal * não existe",
        ),
        nl=(
            "onbekende gebruiker", "gebruiker onbekend", "onbekende ontvanger", "ontvanger onbekend",
            "onbekend adres", "adres onbekend", "ongeldige ontvanger", "gebruiker niet gevonden",
            "ontvanger niet gevonden", "gebruiker * bestaat niet", "ontvanger * bestaat niet",
            "adres * bestaat niet", "mailbox * bestaat niet", "account * bestaat niet",
        ),
        ru=(
            "пользователь не существует", "пользователь не найден", "нет такого пользователя",
            "неизвестный пользователь", "неизвестный получатель", "получатель не найден", "получатель не существует",
            "адресат не найден", "несуществующий адрес", "несуществующий пользователь", "нет такого ящика",
            "ящик не найден", "адрес * не существует", "адреса * не существует", "ящик * не существует",
            "ящика * не существует", "пользователь * не существует", "пользователя * не существует",
            "учётная запись * не существует", "такого пользователя нет", "такого адреса нет", "такого ящика нет",
        ),
        ja=(
            "存在しないユーザ", "ユーザが存在しません", "ユーザーが存在しません", "ユーザは存在しません",
            "ユーザーは存在しません", "アドレスは存在しません", "アドレスが存在しません", "存在しないアドレス",
            "存在しないメールアドレス", "アカウントが存在しません", "アドレスが見つかりません", "ユーザが見つかりません",
            "ユーザーが見つかりません", "受信者が見つかりません", "宛先が見つかりません", "不明なユーザ",
            "宛先不明",
        ),
        zh=(
            "用户不存在", "用戶不存在", "收件人不存在", "收件人地址不存在", "邮箱不存在", "郵箱不存在",
            "信箱不存在", "帐户不存在", "账户不存在", "帳戶不存在", "账号不存在", "帐号不存在", "帳號不存在",
            "地址不存在", "无此用户", "沒有此用戶", "没有这个用户", "未知用户", "查无此用户",
        ),
        pattern=r"""(?>
         [#]5[.]1[.]1[ ]bad[ ]address
        |[<][^ ]+[>][ ]not[ ]found
        |[<][^ ]+[@][^ ]+[>][.][.][.][ ]blocked[ ]by[ ]
        |550[ ]address[ ]invalid
        |5[.]1[.]0[ ]address[ ]rejected[.]
        |account[ ][^ ]+[ ]does[ ]not[ ]exist[ ]at[ ]the[ ]organization
        |adresse[ ]d[ ]au[ ]moins[ ]un[ ]destinataire[ ]invalide[.][ ]invalid[ ]recipient[.][0-9a-z_]+41[68]
        |address[ ](?:does[ ]not[ ]exist|not[ ]present[ ]in[ ]directory|unknown)
        |archived[ ]recipient
        |bad[-_ \t]recipient
        |can[']t[ ]accept[ ]user
        |does[ ]not[ ]exist[.]
        |destination[ ](?:
             addresses[ ]were[ ]unknown
            |server[ ]rejected[ ]recipients
            )
        |email[ ]address[ ](?:does[ ]not[ ]exist|could[ ]not[ ]be[ ]found)
        |invalid[ ](?:
             address
            |mailbox:?
            |mailbox[ ]path|recipient
            )
        |is[ ]not[ ](?:
             a[ ]known[ ]user
            |a[ ]valid[ ]mailbox
            |an[ ]active[ ]address[ ]at[ ]this[ ]host
            )
        |mailbox[ ](?:
             [^ ]+[ ]does[ ]not[ ]exist
            |[^ ]+[@][^ ]+[ ]unavailable
            |does[ ]not[ ]exist
            |invalid
            |is[ ](?:inactive|unavailable)
            |not[ ](?:present|found)
            |unavailable
            )
        |nessun[ ]utente[ ]simile[ ]in[ ]questo[ ]indirizzo
        |no[ ](?:
             [ ][^ ]+[ ]in[ ]name[ ]directory
            |account[ ]by[ ]that[ ]name[ ]here
            |existe[ ](?:dicha[ ]persona|ese[ ]usuario[ ])
            |mail[ ]box[ ]available[ ]for[ ]this[ ]user
            |mailbox[ ](?:
                 by[ ]that[ ]name[ ]is[ ]currently[ ]available
                |found
                )
            |matches[ ]to[ ]nameserver[ ]query
            |such[ ](?:
                 address[ ]here
                |mailbox
                |person[ ]at[ ]this[ ]address
                |recipient
                |user(?:[ ]here)?
                )
            |thank[ ]you[ ]rejected:[ ]account[ ]unavailable:
            |valid[ ]recipients,[ ]bye
            )
        |non[- ]?existent[ ]user
        |not[ ](?:
             a[ ]valid[ ](?:recipient|user[ ]here)
            |a[ ]local[ ]address
            |email[ ]addresses
            )
        |rcpt[ ][<][^ ]+[>][ ]does[ ]not[ ]exist
        |recipient[ ]address[ ]rejected[.][ ][(]in[ ]reply[ ]to[ ]rcpt[ ]to[ ]command[)]
        |recipient[ ](?:
             [^ ]+[ ]was[ ]not[ ]found[ ]in
            |address[ ]rejected:[ ](?:
                 access[ ]denied
                |invalid[ ]user
                |invalid-recipient
                |user[ ][^ ]+[ ]does[ ]not[ ]exist
                |user[ ]unknown[ ]in[ ][^ ]+[ ]table
                |unknown[ ]user
                )
            |does[ ]not[ ]exist(?:[ ]on[ ]this[ ]system)?
            |is[ ]not[ ]local
            |not[ ](?:exist|found|ok)
            |refuses[ ]to[ ]accept[ ]your[ ]mail
            |unknown
            )
        |requested[ ]action[ ]not[ ]taken:[ ]mailbox[ ]unavailable
        |resolver[.]adr[.]recipient notfound
        |said:[ ]550[-[ ]]5[.]1[.]1[ ][^ ]+[ ]user[ ]unknown[ ]
        |sorry,[ ](?:
             user[ ]unknown
            |badrcptto
            |no[ ]mailbox[ ]here[ ]by[ ]that[ ]name
            |your[ ]envelope[ ]recipient[ ]has[ ]been[ ]denied
            )
        |that[ ]domain[ ]or[ ]user[ ]isn't[ ]in[ ]my[ ]list[ ]of[ ]allowed[ ]rcpthosts
        |the[ ](?:
             email[ ]account[ ]that[ ]you[ ]tried[ ]to[ ]reach[ ]does[ ]not[ ]exist
            |following[ ]recipients[ ]was[ ]undeliverable
            |user[']s[ ]email[ ]name[ ]is[ ]not[ ]found
            )
        |there[ ]is[ ]no[ ]one[ ]at[ ]this[ ]address
        |this[ ](?:
             address[ ]no[ ]longer[ ]accepts[ ]mail
            |email[ ]address[ ]is[ ]wrong[ ]or[ ]no[ ]longer[ ]valid
            |recipient[ ]is[ ]in[ ]my[ ]badrecipientto[ ]list
            |recipient[ ]is[ ]not[ ]in[ ]my[ ]validrcptto[ ]list
            |spectator[ ]does[ ]not[ ]exist
            |user[ ]doesn[']?t[ ]have[ ]a[ ][^ ]+[ ]account
            )
        |unknown[ ](?:
             e[-]?mail[ ]address
            |local[- ]part
            |mailbox
            |recipient
            |user
            )
        |user[ ](?:
             [^ ]+[ ]was[ ]not[ ]found
            |[^ ]+[ ]does[ ]not[ ]exist
            |does[ ]not[ ]exist
            |missing[ ]home[ ]directory
            |not[ ](?:active|exist|found|known)
            |unknown
            )
        |utilisateur[ ]inconnu[ ]!
        |vdeliver:[ ]invalid[ ]or[ ]unknown[ ]virtual[ ]user
        |your[ ]envelope[ ]recipient[ ]is[ ]in[ ]my[ ]badrcptto[ ]list
        )""",
        unless=(
            "sender address rejected", "sender verify failed", "sender verification failed", "domain of sender",
            "your ip", "blacklisted", "blocklisted", "spamhaus", "dnsbl",
        ),
    ),
    "hostunknown": Wording(
        en=(
            "domain does not exist", "domain is not reachable", "domain must exist",
            "host or domain name not found", "host unknown",
            "mail domain mentioned in email address is unknown", "name or service not known", "no such domain",
            "recipient address rejected: unknown domain name", "recipient domain must exist",
            "the account or domain may not exist", "unknown host", "unroutable address", "unrouteable address",
            "domain not found", "domain name not found", "unknown domain", "non-existent domain",
            "nonexistent domain", "nxdomain", "domain * does not exist", "host * not found",
        ),
        de=(
            "domain existiert nicht", "domäne existiert nicht", "unbekannte domain", "domain unbekannt",
            "domain nicht gefunden", "domain * existiert nicht", "unbekannter host", "rechner unbekannt",
        ),
        fr=(
            "domaine inconnu", "domaine inexistant", "domaine introuvable", "hôte inconnu",
            "domaine * n'existe pas",
        ),
        es=(
            "dominio desconocido", "dominio inexistente", "dominio no encontrado", "dominio * no existe",
            "host desconocido",
        ),
        it=(
            "dominio sconosciuto", "dominio inesistente", "dominio non trovato", "dominio * non esiste",
            "host sconosciuto",
        ),
        pt=(
            "domínio desconhecido", "domínio inexistente", "domínio não encontrado", "domínio * não existe",
            "host desconhecido",
        ),
        nl=("onbekend domein", "domein onbekend", "domein niet gevonden", "domein * bestaat niet"),
        ru=(
            "домен не существует", "домен не найден", "неизвестный домен", "несуществующий домен",
            "домен * не существует", "хост не найден", "неизвестный хост",
        ),
        ja=(
            "ドメインが存在しません", "存在しないドメイン", "ドメインが見つかりません", "ホストが見つかりません",
            "不明なドメイン",
        ),
        zh=("域名不存在", "域不存在", "未知域名", "找不到域名", "主机不存在", "未知主机", "找不到主机"),
        pattern=r"""553[ ][^ ]+[ ]does[ ]not[ ]exist""",
        unless=("sender address rejected", "sender domain", "domain of sender", "host not found, try again"),
    ),
    "hasmoved": Wording(
        en=(
            " has been replaced by ", "has moved to", "address has changed to", "new email address is",
            "new e-mail address is", "user not local; please try",
        ),
        de=("ist umgezogen", "neue e-mail-adresse lautet", "neue adresse lautet", "hat eine neue adresse"),
        fr=("a changé d'adresse", "nouvelle adresse est"),
        es=("ha cambiado de dirección", "nueva dirección es"),
        it=("ha cambiato indirizzo", "nuovo indirizzo è"),
        pt=("mudou de endereço", "novo endereço é"),
        nl=("is verhuisd", "nieuwe adres is", "nieuwe e-mailadres is"),
        ru=("сменил адрес", "изменил адрес", "новый адрес:"),
        ja=("新しいアドレスは", "アドレスが変更"),
        zh=("已更换邮箱", "新地址为", "地址已更改"),
    ),
    "notaccept": Wording(
        en=(
            "does not accept mail (nullmx)", "host/domain does not accept mail", "host does not accept mail",
            "name server: .: host not found", "no mx record found for domain=", "no route for current request",
            "smtp protocol returned a permanent error", "mx or srv record indicated no smtp service",
            "no mx record", "no mx found", "null mx",
        ),
        de=("domain nimmt keine e-mails an", "domain akzeptiert keine e-mails"),
        fr=("domaine n'accepte pas", "domaine n'accepte aucun"),
        es=("dominio no acepta correo",),
        it=("dominio non accetta posta",),
        pt=("domínio não aceita",),
        nl=("domein accepteert geen",),
        ru=("домен не принимает почту",),
        ja=("ドメインはメールを受け付け",),
        zh=("域名不接收邮件", "域不接收邮件"),
    ),
    "suspend": Wording(
        en=(
            " is currently suspended", " temporary locked", "boite du destinataire archivee",
            "email account that you tried to reach is disabled", "has been suspended", "invalid/inactive user",
            "is a deactivated mailbox", "mailbox currently suspended", "mailbox is frozen",
            "mailbox unavailable or access denied", "recipient rejected: temporarily inactive",
            "recipient suspend the service", "this account has been disabled or discontinued",
            "this mailbox is disabled", "user suspended", "vdelivermail: account is locked email bounced",
            "account is disabled", "account has been disabled", "account disabled", "mailbox is disabled",
            "mailbox disabled", "account is inactive", "account inactive", "account has been suspended",
            "account suspended", "account is suspended", "account * deactivated", "mailbox * deactivated",
            "mailbox * inactive", "account * inactive", "account * disabled", "mailbox * disabled",
        ),
        de=(
            "konto ist deaktiviert", "konto deaktiviert", "konto * deaktiviert", "postfach ist deaktiviert",
            "postfach deaktiviert", "postfach * deaktiviert", "konto gesperrt", "konto * gesperrt",
            "postfach gesperrt", "postfach * gesperrt", "konto ist inaktiv", "postfach * inaktiv",
            "konto * stillgelegt", "postfach * stillgelegt",
        ),
        fr=(
            "compte désactivé", "compte * désactivé", "boîte * désactivée", "compte suspendu", "compte * suspendu",
            "compte inactif", "boîte * inactive", "compte fermé",
        ),
        es=(
            "cuenta deshabilitada", "cuenta * deshabilitada", "cuenta desactivada", "cuenta * desactivada",
            "cuenta suspendida", "cuenta * suspendida", "cuenta inactiva", "buzón * deshabilitado",
            "buzón * desactivado",
        ),
        it=(
            "account disabilitato", "account * disabilitato", "casella disabilitata", "casella * disabilitata",
            "account sospeso", "account * sospeso", "casella sospesa", "casella * sospesa", "account disattivato",
            "account * disattivato", "casella disattivata", "casella * disattivata", "utente disabilitato",
        ),
        pt=(
            "conta desativada", "conta * desativada", "conta desabilitada", "conta * desabilitada",
            "conta suspensa", "conta * suspensa", "conta inativa", "caixa * desativada",
        ),
        nl=(
            "account is uitgeschakeld", "account * uitgeschakeld", "mailbox * uitgeschakeld",
            "account * gedeactiveerd", "mailbox * gedeactiveerd", "account * opgeschort", "account is inactief",
            "mailbox is inactief",
        ),
        ru=(
            "учётная запись отключена", "учётная запись заблокирована", "учётная запись * отключена",
            "ящик заблокирован", "ящик * заблокирован", "ящик отключен", "ящик * отключен", "ящик неактивен",
            "аккаунт заблокирован", "аккаунт отключен",
        ),
        ja=("アカウントが無効", "アカウントは無効", "アカウントが停止", "利用停止", "停止されています"),
        zh=(
            "账户已停用", "帐户已停用", "账号已停用", "帐号已停用", "帳戶已停用", "邮箱已停用", "用户已停用",
            "账户被冻结", "帐户被冻结", "账号被冻结", "帐号被冻结", "邮箱被冻结", "账户已冻结", "账号已冻结",
            "账户已禁用", "帐户已禁用", "账号已被禁用", "邮箱已被禁用",
        ),
    ),
    "mailboxfull": Wording(
        en=(
            "account disabled temporarly for exceeding receiving limits", "account is exceeding their quota",
            "account is over quota", "account is temporarily over quota", "boite du destinataire pleine",
            "delivery failed: over quota", "disc quota exceeded", "does not have enough space",
            "exceeded storage allocation", "exceeding its mailbox quota", "full mailbox", "is over disk quota",
            "is over quota temporarily", "mail file size exceeds the maximum size allowed for mail delivery",
            "mail quota exceeded", "mailbox exceeded the local limit", "mailbox full",
            "mailbox has exceeded its disk space limit", "mailbox is full", "mailbox over quota",
            "mailbox quota usage exceeded", "mailbox size limit exceeded", "maildir over quota",
            "maildir delivery failed: userdisk quota ", "maildir delivery failed: domaindisk quota ",
            "mailfolder is full", "not enough storage space in", "over the allowed quota", "quota exceeded",
            "quota violation for", "recipient reached disk quota",
            "recipient rejected: mailbox would exceed maximum allowed storage",
            "the recipient mailbox has exceeded its disk space limit", "the user's space has been used up",
            "the user you are trying to reach is over quota", "too much mail data",
            "user has exceeded quota, bouncing mail", "user has too many messages on the server",
            "user is over quota", "user is over the quota", "user over quota", "user over quota. (#5.1.1)",
            "was automatically rejected: quota exceeded", "would be over the allowed quota", "inbox is full",
            "mailbox is over", "overquota", "diskspace quota", "disk space quota", "over quota", "exceeded * quota",
            "exceeds * quota", "reached * quota", "reached * storage limit",
        ),
        de=(
            "postfach ist voll", "postfach voll", "mailbox ist voll", "mailbox voll", "postfach * voll",
            "postfach * überfüllt", "speicherplatz * überschritten", "quota überschritten",
            "kontingent überschritten", "speicherkontingent",
        ),
        fr=(
            "boîte aux lettres pleine", "boîte pleine", "boîte * pleine", "messagerie pleine", "quota dépassé",
            "quota * dépassé", "dépassement de quota",
        ),
        es=(
            "buzón lleno", "buzón * lleno", "casilla llena", "casilla * llena", "cuota excedida",
            "cuota * excedida", "excedido * cuota", "supera * cuota",
        ),
        it=(
            "casella piena", "casella * piena", "mailbox piena", "quota superata", "quota * superata",
            "superato * quota", "spazio * esaurito",
        ),
        pt=(
            "caixa postal cheia", "caixa de correio cheia", "caixa * cheia", "caixa * lotada", "cota excedida",
            "quota excedida", "cota * excedida", "excedeu * cota", "excedeu * quota",
        ),
        nl=(
            "mailbox is vol", "mailbox vol", "postbus is vol", "postbus vol", "quotum overschreden",
            "quota overschreden",
        ),
        ru=(
            "ящик переполнен", "ящик * переполнен", "ящик заполнен", "ящик * заполнен",
            "превышен размер почтового ящика", "превышена квота", "превышение квоты", "квота превышена",
            "квота * превышена", "недостаточно места в почтовом ящике",
        ),
        ja=(
            "メールボックスがいっぱい", "メールボックスが一杯", "メールボックスの容量", "容量超過", "容量を超え",
            "容量オーバー", "クォータを超え",
        ),
        zh=(
            "邮箱已满", "郵箱已滿", "信箱已满", "信箱已滿", "邮箱空间不足", "郵箱空間不足", "容量已满", "超出配额",
            "超过配额", "配额已满", "邮箱满", "邮箱容量不足", "空间已满", "空間已滿",
        ),
    ),
    "mesgtoobig": Wording(
        en=(
            "exceeded maximum inbound message size", "line limit exceeded", "max message size exceeded",
            "message file too big", "message length exceeds administrative limit",
            "message size exceeds fixed limit", "message size exceeds fixed maximum message size",
            "message size exceeds maximum value", "message too big", "message too large for this ", "size limit",
            "taille limite du message atteinte", "message is too large", "message size * exceeds",
            "exceeds the maximum message size", "exceeded the maximum message size", "exceeds maximum allowed size",
            "message is too big",
        ),
        de=(
            "nachricht ist zu groß", "nachricht zu groß", "e-mail ist zu groß", "mail ist zu groß",
            "maximale nachrichtengröße", "nachrichtengröße * überschritten", "größenbeschränkung",
        ),
        fr=(
            "message trop volumineux", "message trop gros", "taille * dépasse", "dépasse la taille",
            "taille maximale",
        ),
        es=("mensaje demasiado grande", "tamaño * excede", "excede el tamaño máximo"),
        it=(
            "messaggio troppo grande", "messaggio * troppo grande", "dimensione * supera",
            "supera la dimensione massima",
        ),
        pt=("mensagem muito grande", "mensagem * excede o tamanho", "tamanho * excede", "excede o tamanho máximo"),
        nl=("bericht is te groot", "bericht te groot", "maximale berichtgrootte"),
        ru=(
            "сообщение слишком большое", "письмо слишком большое", "слишком большой размер",
            "превышен максимальный размер", "размер сообщения превышает", "размер письма превышает",
        ),
        ja=("メッセージが大きすぎ", "サイズが大きすぎ", "サイズ超過", "サイズの上限", "容量が大きすぎ"),
        zh=("邮件太大", "郵件太大", "邮件过大", "郵件過大", "邮件大小超", "信件过大", "附件过大"),
    ),
    "exceedlimit": Wording(
        en=("message header size exceeds limit", "message too large"),
    ),
    "filtered": Wording(
        en=(
            "because the recipient is only accepting mail from specific email addresses", "bounced address",
            "due to extended inactivity new mail is not currently being accepted for this mailbox",
            "has restricted sms e-mail", "is not accepting any mail", "message rejected due to user rules",
            "not found recipient account", "refused due to recipient preferences", "resolver.rst.notauthorized",
            "this account is protected by", "user not found", "user reject",
            "we failed to deliver mail because the following address recipient id refuse to receive mail",
            "you have been blocked by the recipient", "recipient has blocked", "recipient's filter", "message filtered",
        ),
        de=("vom empfänger abgelehnt", "vom empfänger blockiert", "filterregel"),
        fr=(
            "refusé par le destinataire", "bloqué par le destinataire", "filtre du destinataire",
            "règle de filtrage",
        ),
        es=("rechazado por el destinatario", "bloqueado por el destinatario", "filtro del destinatario"),
        it=("rifiutato dal destinatario", "bloccato dal destinatario", "filtro del destinatario"),
        pt=("rejeitado pelo destinatário", "bloqueado pelo destinatário", "filtro do destinatário"),
        nl=("geweigerd door de ontvanger", "geblokkeerd door de ontvanger", "filter van de ontvanger"),
        ru=("отклонено получателем", "заблокировано получателем", "фильтр получателя"),
        ja=("受信拒否", "受信者が拒否", "フィルタ"),
        zh=("拒收", "被收件人拒绝", "收件人拒绝", "过滤规则", "被过滤"),
    ),
    "expired": Wording(
        en=(
            "connection timed out", "could not find a gateway for", "delivery attempts will continue",
            "delivery time expired", "failed to deliver to domain ", "giving up on",
            "have been failing for a long time", "has been delayed", "it has not been collected after",
            "message expired after sitting in queue for", "message expired, connection refulsed",
            "message timed out", "retry time not reached for any host after a long failure period",
            "server did not respond", "this message has been in the queue too long",
            "unable to deliver message after multiple retries",
            "was not reachable within the allowed queue period",
            "your message could not be delivered for more than",
            "the recipient server did not accept our requests to connect", "will be retried", "will retry",
            "will continue trying", "will keep trying", "will continue to try", "envelope expired",
            "message expired", "maximum time expired", "maximum-time-expired", "retry timeout exceeded",
            "failed * attempts", "could not be delivered for * days", "could not deliver for",
            "unable to deliver in * minutes", "unable to deliver in * hours", "host is not responding",
            "server is not responding", "host not reachable",
        ),
        de=(
            "wird erneut versucht", "wird weiterhin versucht", "weitere zustellversuche",
            "zustellversuche werden fortgesetzt", "zeitlimit * überschritten", "zustellzeit * überschritten",
            "zeitüberschreitung",
        ),
        fr=(
            "nouvelle tentative", "nouvelles tentatives", "sera retenté", "sera réessayé", "délai * dépassé",
            "délai d'attente dépassé", "message expiré",
        ),
        es=(
            "se reintentará", "se volverá a intentar", "tiempo de espera agotado", "tiempo * expirado",
            "mensaje expirado", "ha caducado",
        ),
        it=("verrà ritentato", "nuovi tentativi", "tempo * scaduto", "messaggio scaduto"),
        pt=(
            "será tentado novamente", "será reenviado", "novas tentativas", "tempo * esgotado",
            "mensagem expirada", "tempo limite",
        ),
        nl=("wordt opnieuw geprobeerd", "opnieuw proberen", "bericht is verlopen", "tijdslimiet * overschreden"),
        ru=(
            "повторная попытка", "будет повторена", "попытки доставки", "истёк срок", "истекло время",
            "срок * истёк", "превышено время ожидания", "не удалось доставить в течение",
        ),
        ja=("再送", "再試行", "配送を試み", "配信を試み", "タイムアウト", "期限切れ", "有効期限が切れ"),
        zh=("重试", "重新尝试", "将继续尝试", "投递超时", "发送超时", "已过期"),
    ),
    "rejected": Wording(
        en=(
            "access denied (in reply to mail from command)", "access denied (sender blacklisted)",
            "address rejected", "administrative prohibition", "batv failed to verify", "batv validation failure",
            "backscatter protection detected an invalid or expired email address",
            "because the sender isn't on the recipient's list of senders to accept mail from", "bogus mail from",
            "connections not accepted from servers without a valid sender domain", "denied [bouncedeny]",
            "denied by secumail valid-address-filter", "delivery not authorized, message refused",
            "does not exist e2110", "domain of sender address ", "email address is on senderfilterconfig list",
            "emetteur invalide", "empty envelope senders not allowed", "envelope blocked – ",
            "error: no third-party dsns", "from: domain is invalid. please provide a valid from:",
            "fully qualified email address required", "invalid domain, see <url:", "invalid sender",
            "is not a registered gateway user", "mail from not owned by user",
            "message rejected: email address is not verified", "mx records for ", "null sender is not allowed",
            "recipient addresses rejected : access denied", "recipient not accepted. (batv: no tag",
            "returned mail not accepted here", "rfc 1035 violation: recursive cname records for",
            "rule imposed mailbox access for", "sender address has been blacklisted",
            "sender email address rejected", "sender is in my black list", "sender is spammer",
            "sender not pre-approved", "sender rejected", "sender domain is empty", "sender verify failed",
            "syntax error: empty email address", "the message has been rejected by batv defense",
            "this server does not accept mail from", "transaction failed unsigned dsn for",
            "unroutable sender address", "you are not allowed to post to this mailing list",
            "you are sending to/from an address that has been blacklisted",
            "your access to submit messages to this e-mail system has been rejected", "sender address rejected",
            "sender denied", "unknown sender", "sender unknown", "sender not allowed", "sender was rejected",
            "does not like sender",
        ),
        de=(
            "absender abgelehnt", "absenderadresse abgelehnt", "absender * abgelehnt", "ungültiger absender",
            "absender unbekannt", "unbekannter absender", "absender * gesperrt",
        ),
        fr=(
            "expéditeur refusé", "expéditeur * refusé", "expéditeur * rejeté", "expéditeur inconnu",
            "expéditeur invalide", "expéditeur non autorisé",
        ),
        es=(
            "remitente rechazado", "remitente * rechazado", "remitente desconocido", "remitente no válido",
            "remitente inválido", "remitente no autorizado", "remitente * bloqueado",
        ),
        it=(
            "mittente rifiutato", "mittente * rifiutato", "mittente sconosciuto", "mittente non valido",
            "mittente non autorizzato", "mittente * bloccato",
        ),
        pt=(
            "remetente rejeitado", "remetente * rejeitado", "remetente desconhecido", "remetente inválido",
            "remetente não autorizado", "remetente * bloqueado",
        ),
        nl=(
            "afzender geweigerd", "afzender * geweigerd", "afzender onbekend", "onbekende afzender",
            "ongeldige afzender", "afzender * geblokkeerd",
        ),
        ru=(
            "отправитель отклонён", "отправитель * отклонён", "неизвестный отправитель",
            "недопустимый отправитель", "отправитель заблокирован",
        ),
        ja=(
            "送信者アドレスは拒否", "送信者アドレスが拒否", "送信者が拒否", "送信元アドレスが拒否",
            "差出人アドレスが拒否",
        ),
        zh=("发件人被拒绝", "发件人地址被拒绝", "發件人被拒絕", "拒绝发件人", "发件人地址无效", "发信人被拒绝"),
        unless=("5.1.0 address rejected", "recipient address rejected", "sender ip address rejected"),
    ),
    "blocked": Wording(
        en=(
            "your ip address * blocked", "ip address * is blocked", "ip * has been blocked", "on our blocklist",
            "blocklisted", "listed at spamhaus", "listed in spamhaus", "refused to talk to me", "ip is rejected",
        ),
        de=("ip-adresse * gesperrt", "ip-adresse * blockiert", "ip * blockiert", "sperrliste", "schwarzen liste"),
        fr=("adresse ip * bloquée", "ip * bloquée", "ip * refusée", "liste noire", "liste de blocage"),
        es=("dirección ip * bloqueada", "ip * bloqueada", "lista negra"),
        it=("indirizzo ip * bloccato", "ip * bloccato", "lista nera"),
        pt=("endereço ip * bloqueado", "ip * bloqueado", "lista negra"),
        nl=("ip-adres * geblokkeerd", "ip * geblokkeerd", "zwarte lijst"),
        ru=("ip-адрес * заблокирован", "ip * заблокирован", "чёрный список", "чёрном списке"),
        ja=("ブラックリスト", "ipアドレスはブロック", "ipアドレスがブロック"),
        zh=("黑名单", "黑名單", "ip被封", "ip地址被禁止", "ip被禁止", "ip被拒绝"),
        pattern=r"""(?>
         [ ]said:[ ]550[ ]blocked
        |[(][^ ]+[@][^ ]+:blocked[)]
        |access[ ]denied[.][ ]ip[ ]name[ ]lookup[ ]failed
        |access[ ]from[ ]ip[ ]address[ ][^ ]+[ ]blocked
        |all[ ]mail[ ]servers[ ]must[ ]have[ ]a[ ]ptr[ ]record[ ]with[ ]a[ ]valid[ ]reverse[ ]dns[ ]entry
        |bad[ ](:?dns[ ]ptr[ ]resource[ ]record|sender[ ]ip[ ]address)
        |banned[ ]sending[ ]ip
        |blacklisted[ ]by
        |(?:blocked|refused)[ ]-[ ]see[ ]https?://
        |blocked[ ]using[ ]
        |can[']t[ ]determine[ ]purported[ ]responsible[ ]address
        |cannot[ ](?:
             find[ ]your[ ]hostname
            |resolve[ ]your[ ]address
            )
        |client[ ]host[ ](?:
             [^ ]+[ ]blocked[ ]using
            |rejected:[ ](?:
                 abus[ ]detecte[ ]gu_eib_0[24]
                |cannot[ ]find[ ]your[ ]hostname
                |may[ ]not[ ]be[ ]mail[ ]exchanger
                |was[ ]not[ ]authenticated
                )
            )
        |confirm[ ]this[ ]mail[ ]server
        |connection[ ](?:
            dropped
           |refused[ ]by
           |reset[ ]by[ ]peer
           |was[ ]dropped[ ]by[ ]remote[ ]host
           )
        |connections[ ](?:
             not[ ]accepted[ ]from[ ]ip[ ]addresses[ ]on[ ]spamhaus[ ]xbl
            |will[ ]not[ ]be[ ]accepted[ ]from[ ][^ ]+,[ ]because[ ]the[ ]ip[ ]is[ ]in[ ]spamhaus's[ ]list
            )
        |currently[ ]sending[ ]spam[ ]see:[ ]
        |domain[ ](?:
             [^ ]+[ ]mismatches[ ]client[ ]ip
            |does[ ]not[ ]exist:
            )
        |dns[ ]lookup[ ]failure:[ ][^ ]+[ ]try[ ]again[ ]later
        |dnsbl:(?:attrbl|rbl[ ]\d+[<][ ].+[ ][>]_is_blocked)
        |dynamic/zombied/spam[ ]ips[ ]blocked
        |email[ ]blocked[ ]by[ ](?:[^ ]+[.]barracudacentral[.]org|spamhaus)
        |error:[ ]no[ ]valid[ ]recipients[ ]from[ ]
        |esmtp[ ]not[ ]accepting[ ]connections
        |extreme[ ]bad[ ]ip[ ]profile
        |fix[ ]reverse[ ]dns[ ]for[ ][^ ]+
        |go[ ]away
        |helo[ ]command[ ]rejected:
        |host[ ][^ ]+[ ]refused[ ]to[ ]talk[ ]to[ ]me:[ ]\d+[ ]blocked
        |host[ ]network[ ]not[ ]allowed
        |hosts[ ]with[ ]dynamic[ ]ip
        |http://(?:
             spf[.]pobox[.]com/why[.]html
            |www[.]spamcop[.]net/bl[.]
            )
        |invalid[ ]ip[ ]for[ ]sending[ ]mail[ ]of[ ]domain
        |ip[ ]\d{1,3}[.]\d{1,3}[.]\d{1,3}[.]\d{1,3}[ ]is[ ]blocked[ ]by[ ]earthlink
        |ip[/]domain[ ]reputation[ ]problems
        |ips[ ]with[ ]missing[ ]ptr[ ]records
        |is[ ](?:
             in[ ]a[ ]black[ ]list(?:[ ]at[ ][^ ]+[.])?
            |in[ ]an[ ][^ ]+rbl[ ]on[ ][^ ]+
            |not[ ]allowed[ ]to[ ]send[ ](?:
                 mail[ ]from
                |from[ ][<][^ ]+[>][ ]per[ ]it's[ ]spf[ ]record
                )
            )
        |mail[ ]server[ ]at[ ][^ ]+[ ]is[ ]blocked
        |mail[ ]from[ ]\d+[.]\d+[.]\d+[.]\d[ ]refused:
        |message[ ]from[ ][^ ]+[ ]rejected[ ]based[ ]on[ ]blacklist
        |message[ ]was[ ]rejected[ ]for[ ]possible[ ]spam/virus[ ]content
        |messages[ ]from[ ][^ ]+[ ]temporarily[ ]deferred[ ]due[ ]to[ ]user[ ]complaints
        |no[ ](?:
             access[ ]from[ ]mail[ ]server
            |ptr[ ]record[ ]found[.]
            )
        |not[ ]currently[ ]accepting[ ]mail[ ]from[ ]your[ ]ip
        |part[ ]of[ ]their[ ]network[ ]is[ ]on[ ]our[ ]block[ ]list
        |please[ ](?:
             get[ ]a[ ]custom[ ]reverse[ ]dns[ ]name[ ]from[ ]your[ ]isp[ ]for[ ]your[ ]host
            |inspect[ ]your[ ]spf[ ]settings
            |use[ ]the[ ]smtp[ ]server[ ]of[ ]your[ ]isp
            )
        |ptr[ ]record[ ]setup
        |rejected[ ]because[ ]the[ ]sending[ ]mta[ ]or[ ]the[ ]sender[ ]has[ ]not[ ]passed[ ]validation
        |rejected[ ]due[ ]to[ ](?:
             a[ ]poor[ ]email[ ]reputation[ ]score
            |the[ ]sending[ ]mta's[ ]poor[ ]reputation
            )
        |rejecting[ ]open[ ]proxy
        |reverse[ ]dns[ ](?:
              failed
             |required
             |lookup[ ]for[ ]host[ ][^ ]+[ ]failed[ ]permanently
             )
        |sender[ ]ip[ ](?:
             address[ ]rejected
            |reverse[ ]lookup[ ]rejected
            )
        |server[ ]access[ ](?:
             [^ ]+[ ]forbidden[ ]by[ ]invalid[ ]rdns[ ]record[ ]of[ ]your[ ]mail[ ]server
            |forbidden[ ]by[ ]your[ ]ip[ ]
            )
        |server[ ]ip[ ][^ ]+[ ]listed[ ]as[ ]abusive
        |service[ ]not[ ]available,[ ]closing[ ]transmission[ ]channel
        |service[ ]permits[ ]\d+[ ]unverifyable[ ]sending[ ]ips
        |smtp[ ]error[ ]from[ ]remote[ ]mail[ ]server[ ]after[ ]initial[ ]connection:
        |sorry,[ ](?:
             that[ ]domain[ ]isn'?t[ ]in[ ]my[ ]list[ ]of[ ]allowed[ ]rcpthosts
            |your[ ]remotehost[ ]looks[ ]suspiciously[ ]like[ ]spammer
            )
        |spf[ ](?:
             [(]sender[ ]policy[ ]framework[)][ ]domain[ ]authentication[ ]fail
            |record
            |check:[ ]fail
            )
        |spf:[ ][^ ]+[ ]is[ ]not[ ]allowed[ ]to[ ]send[ ]mail[.][ ][a-z0-9]_401
        |temporarily[ ]deferred[ ]due[ ]to[ ]unexpected[ ]volume[ ]or[ ]user[ ]complaints
        |the[ ](?:email|domain|ip)[ ][^ ]+[ ]is[ ]blacklisted
        |this[ ]system[ ]will[ ]not[ ]accept[ ]messages[ ]from[ ]servers[/]devices[ ]with[ ]no[ ]reverse[ ]dns
        |to[ ]submit[ ]messages[ ]to[ ]this[ ]e-mail[ ]system[ ]has[ ]been[ ]rejected
        |too[ ]many[ ](?:
             spams[ ]from[ ]your[ ]ip
            |unwanted[ ]messages[ ]have[ ]been[ ]sent[ ]from[ ]the[ ]following[ ]ip[ ]address[ ]above
            )
        |unresolvable[ ]relay[ ]host[ ]name
        |veuillez[ ]essayer[ ]plus[ ]tard[.][ ]service[ ]refused,[ ]please[ ]try[ ]later[.][ ][0-9a-z_]+(?:103|510)
        |was[ ]blocked[ ]by[ ][^ ]+
        |we[ ]do[ ]not[ ]accept[ ]mail[ ]from[ ](?:
             dynamic[ ]ips
            |hosts[ ]with[ ]dynamic[ ]ip[ ]or[ ]generic[ ]dns[ ]ptr-records
            )
        |you[ ]are[ ](?:
             not[ ]allowed[ ]to[ ]connect
            |sending[ ]spam
            )
        |your[ ](?:
             email[ ]address[ ]has[ ]been[ ]blacklisted
            |network[ ]is[ ]temporary[ ]blacklisted
            |sender's[ ]ip[ ]address[ ]is[ ]listed[ ]at[ ][^ ]+[.]abuseat[.]org
            |server[ ]requires[ ]confirmation
            )
        )""",
    ),
    "spamdetected": Wording(
        en=(
            "detected as spam", "identified as spam", "classified as spam", "considered spam", "looks like spam",
            "suspected spam", "likely unsolicited mail",
        ),
        de=("als spam erkannt", "als spam eingestuft", "spamverdacht", "spam-verdacht", "spam erkannt"),
        fr=(
            "détecté comme spam", "considéré comme spam", "identifié comme spam", "courrier indésirable",
            "message indésirable", "pourriel",
        ),
        es=(
            "detectado como spam", "considerado spam", "considerado como spam", "identificado como spam",
            "correo no deseado", "mensaje no deseado",
        ),
        it=(
            "rilevato come spam", "considerato spam", "identificato come spam", "posta indesiderata",
            "messaggio indesiderato",
        ),
        pt=(
            "detectado como spam", "considerado spam", "considerado como spam", "identificado como spam",
            "mensagem indesejada", "lixo eletrônico",
        ),
        nl=(
            "als spam herkend", "als spam aangemerkt", "als spam beschouwd", "spam gedetecteerd",
            "ongewenste e-mail",
        ),
        ru=(
            "похоже на спам", "распознано как спам", "расценено как спам", "признано спамом", "подозрение на спам",
            "нежелательная почта", "нежелательное письмо",
        ),
        ja=("迷惑メール", "スパム"),
        zh=("垃圾邮件", "垃圾郵件", "垃圾信件", "疑似垃圾"),
        pattern=r"""(?>
         ["]the[ ]mail[ ]server[ ]detected[ ]your[ ]message[ ]as[ ]spam[ ]and[ ]
            has[ ]prevented[ ]delivery[.]["]
        |(?:\d[.]\d[.]\d|\d{3})[ ]spam\Z
        |554[ ]5[.]7[.]0[ ]reject,[ ]id=\d+
        |appears[ ]to[ ]be[ ]unsolicited
        |blacklisted[ ]url[ ]in[ ]message
        |block[ ]for[ ]spam
        |blocked[ ]by[ ](?:
             policy:[ ]no[ ]spam[ ]please
            |spamassassin
            )
        |blocked[ ]for[ ]abuse[.][ ]see[ ]http://att[.]net/blocks
        |bulk[ ]email
        |considered[ ]unsolicited[ ]bulk[ ]e-mail[ ][(]spam[)][ ]by[ ]our[ ]mail[ ]filters
        |content[ ]filter[ ]rejection
        |cyberoam[ ]anti[ ]spam[ ]engine[ ]has[ ]identified[ ]this[ ]email[ ]as[ ]a[ ]bulk[ ]email
        |denied[ ]due[ ]to[ ]spam[ ]list
        |greylisted.?.[ ]please[ ]try[ ]again[ ]in
        |high[ ]probability[ ]of[ ]spam
        |https?://(?:www[.]spamhaus[.]org|dsbl[.]org|mail[.]163[.]com/help/help_spam_16[.]htm)
        |listed[ ]in[ ]work[.]drbl[.]imedia[.]ru
        |mail[ ](?:
             appears[ ]to[ ]be[ ]unsolicited
            |content[ ]denied
            |rejete[.][ ]mail[ ]rejected[.][ ][0-9a-z_]+506
            )
        |may[ ]consider[ ]spam
        |message[ ](?:
             considered[ ]as[ ]spam[ ]or[ ]virus
            |contains[ ]spam[ ]or[ ]virus
            |content[ ]rejected
            |detected[ ]as[ ]spam
            |filtered
            |filtered[.][ ](?:
                 please[ ]see[ ]the[ ]faqs[ ]section[ ]on[ ]spam
                |refer[ ]to[ ]the[ ]troubleshooting[ ]page[ ]at[ ]
                )
            |is[ ]being[ ]rejected[ ]as[ ]it[ ]seems[ ]to[ ]be[ ]a[ ]spam
            |looks[ ]like[ ]spam
            |refused[ ]by[ ](?:
                 mailmarshal[ ]spamprofiler
                |trustwave[ ]seg[ ]spamprofiler
                )
            |rejected[ ](?:
                 as[ ]spam
                |because[ ]of[ ]unacceptable[ ]content
                |due[ ]to[ ]suspected[ ]spam[ ]content
                |for[ ]policy[ ]reasons
                )
            )
        |our[ ](?:
             email[ ]server[ ]thinks[ ]this[ ]email[ ]is[ ]spam
            |filters[ ]rate[ ]at[ ]and[ ]above[ ]\d+[ ]percent[ ]probability[ ]of[ ]being[ ]spam
            |system[ ]has[ ]detected[ ]that[ ]this[ ]message[ ]is
            )
        |probable[ ]spam
        |reject[ ]bulk[.]advertising
        |rejected(?:
             :[ ]spamassassin[ ]score[ ]
            |[ ]by[ ][^ ]+[ ][(]spam[)]
            |[ ]due[ ]to[ ]spam[ ](?:url[ ]in[ ])?(?:classification|content)
            )
        |rejecting[ ](?:banned|mail)[ ]content
        |related[ ]to[ ]content[ ]with[ ]spam[-]like[ ]characteristics
        |rule[ ]imposed[ ]as[ ][^ ]+[ ]is[ ]blacklisted[ ]on
        |sender[ ]domain[ ]listed[ ]at[ ][^ ]+
        |sending[ ]address[ ]not[ ]accepted[ ]due[ ]to[ ]spam[ ]filter
        |spam[ ](?:
             [^ ]+[ ]exceeded
            |blocked
            |check
            |content[ ]matched
            |detected
            |email
            |email[ ]not[ ]accepted
            |message[ ]rejected[.]
            |not[ ]accepted
            |refused
            |rejection
            |reporting[ ]address
            |score[ ]
            )
        |spambouncer[ ]identified[ ]spam
        |spamming[ ]not[ ]allowed
        |too[ ]much[ ]spam[.]
        |the[ ]email[ ]message[ ]was[ ]detected[ ]as[ ]spam
        |the[ ]message[ ](?:
             has[ ]been[ ]rejected[ ]by[ ]spam[ ]filtering[ ]engine
            |was[ ]rejected[ ]due[ ]to[ ]classification[ ]as[ ]bulk[ ]mail
            )
        |the[ ]content[ ]of[ ]this[ ]message[ ]looked[ ]like[ ]spam
        |this[ ](?:e-mail|mail)[ ](?:
             cannot[ ]be[ ]forwarded[ ]because[ ]it[ ]was[ ]detected[ ]as[ ]spam
            |is[ ]classified[ ]as[ ]spam[ ]and[ ]is[ ]rejected
            )
        |this[ ]message[ ](?:
             appears[ ]to[ ]be[ ]spam
            |has[ ]been[ ](?:
                 identified[ ]as[ ]spam
                |scored[ ]as[ ]spam[ ]with[ ]a[ ]probability
                )
            |scored[ ][^ ]+[ ]spam[ ]points
            |was[ ]classified[ ]as[ ]spam
            |was[ ]rejected[ ]by[ ]recurrent[ ]pattern[ ]detection[ ]system
            )
        |transaction[ ]failed[ ]spam[ ]message[ ]not[ ]queued
        |we[ ]dont[ ]accept[ ]spam
        |you're[ ]using[ ]a[ ]mass[ ]mailer
        |your[ ](?:
             email[ ](?:
                 appears[ ]similar[ ]to[ ]spam[ ]we[ ]have[ ]received[ ]before
                |breaches[ ]local[ ]uribl[ ]policy
                |had[ ]spam[-]like[ ]
                |is[ ](?:considered|probably)[ ]spam
                |was[ ]detected[ ]as[ ]spam
                )
            |message[ ](?:
                 as[ ]spam[ ]and[ ]has[ ]prevented[ ]delivery
                |has[ ]been[ ](?:
                     temporarily[ ]blocked[ ]by[ ]our[ ]filter
                    |rejected[ ]because[ ]it[ ]appears[ ]to[ ]be[ ]spam
                    )
                |has[ ]triggered[ ]a[ ]spam[ ]block
                |may[ ]contain[ ]the[ ]spam[ ]contents
                |failed[ ]several[ ]antispam[ ]checks
                )
            )
        )""",
    ),
    "virusdetected": Wording(
        en=(
            "it has a potentially executable attachment",
            "the message was rejected because it contains prohibited virus or spam content",
            "this form of attachment has been used by recent viruses or other malware", "virus detected",
            "your message was infected with a virus", "virus found", "contains a virus", "infected with",
            "malware detected",
        ),
        de=(
            "virus gefunden", "virus entdeckt", "virus erkannt", "enthält einen virus", "schadsoftware",
            "schadprogramm",
        ),
        fr=("virus détecté", "contient un virus", "infecté par", "logiciel malveillant"),
        es=("virus detectado", "contiene un virus", "infectado con", "software malicioso"),
        it=("virus rilevato", "contiene un virus", "infetto da", "software dannoso"),
        pt=("vírus detectado", "contém vírus", "contém um vírus", "infectado com", "software malicioso"),
        nl=("virus gevonden", "virus gedetecteerd", "bevat een virus", "geïnfecteerd met"),
        ru=("обнаружен вирус", "содержит вирус", "заражено вирусом", "вредоносн"),
        ja=("ウイルス", "ウィルス", "マルウェア"),
        zh=("病毒", "恶意软件", "惡意軟體"),
    ),
    "policyviolation": Wording(
        en=(
            "an illegal attachment on your message", "because the recipient is not accepting mail with ",
            "by non-member to a members-only list", "closed mailing list", "denied by policy", "dmarc policy",
            "email not accepted for policy reasons", "email rejected due to security policies",
            "header are not accepted", "header error", "local policy violation",
            "message bounced due to organizational settings", "message given low priority",
            "message not accepted for policy reasons", "message rejected due to local policy",
            "messages with multiple addresses", "rejected for policy reasons", "protocol violation",
            "the email address used to send your message is not subscribed to this group",
            "the message was rejected by organization policy",
            "this message was blocked because its content presents a potential",
            "we do not accept messages containing images or other attachments",
            "you have exceeded the allowable number of posts without solving a captcha",
            "you have exceeded the the allowable number of posts without solving a captcha", "policy violation",
            "violates our policy", "against our policy", "content policy",
        ),
        de=("richtlinienverstoß", "verstößt gegen * richtlinie", "aufgrund * richtlinie", "unzulässiger anhang"),
        fr=("violation * politique", "contraire à * politique", "politique de sécurité", "pièce jointe interdite"),
        es=("viola * política", "infringe * política", "política de seguridad", "adjunto no permitido"),
        it=("violazione * policy", "viola * politica", "politiche di sicurezza", "allegato non consentito"),
        pt=("viola * política", "política de segurança", "anexo não permitido"),
        nl=("in strijd met * beleid", "beleidsregels", "bijlage niet toegestaan"),
        ru=("нарушение политики", "политикой безопасности", "запрещено политикой"),
        ja=("ポリシー違反", "セキュリティポリシー", "ポリシーにより"),
        zh=("违反策略", "违反政策", "安全策略", "策略限制"),
    ),
    "securityerror": Wording(
        en=("must authenticate", "tls required", "requires tls", "encryption required", "must issue a starttls"),
        de=(
            "authentifizierung erforderlich", "anmeldung erforderlich", "verschlüsselung erforderlich",
            "tls erforderlich",
        ),
        fr=("authentification requise", "authentification obligatoire", "chiffrement requis", "tls requis"),
        es=("autenticación requerida", "se requiere autenticación", "cifrado requerido", "se requiere tls"),
        it=("autenticazione richiesta", "richiesta autenticazione", "crittografia richiesta", "tls richiesto"),
        pt=("autenticação necessária", "autenticação requerida", "criptografia necessária", "tls necessário"),
        nl=("authenticatie vereist", "versleuteling vereist", "tls vereist"),
        ru=("требуется аутентификация", "требуется авторизация", "требуется шифрование"),
        ja=("認証が必要", "smtp認証", "暗号化が必要"),
        zh=("需要认证", "需要身份验证", "需要验证", "需要加密"),
        pattern=r"""(?>
         account[ ]not[ ]subscribed[ ]to[ ]ses
        |authentication[ ](?:
             credentials invalid
            |failure
            |failed;[ ]server[ ][^ ]+[ ]said:
            |required
            |turned[ ]on[ ]in[ ]your[ ]email[ ]client
            )
        |authentification[ ]requise.+[0-9a-z_]+402
        |codes?[ ]d'?[ ]*authentification[ ]invalide.+[0-9a-z_]+305
        |domain[ ][^ ]+[ ]is[ ]a[ ]dead[ ]domain
        |executable[ ]files[ ]are[ ]not[ ]allowed[ ]in[ ]compressed[ ]files
        |insecure[ ]mail[ ]relay
        |recipient[ ]address[ ]rejected:[ ]access[ ]denied
        |sorry,[ ]you[ ]don'?t[ ]authenticate[ ]or[ ]the[ ]domain[ ]isn'?t[ ]in[ ]
                my[ ]list[ ]of[ ]allowed[ ]rcpthosts
        |tls[ ]required[ ]but[ ]not[ ]supported
        |unauthenticated[ ]senders[ ]not[ ]allowed
        |user[ ][^ ]+[ ]is[ ]not[ ]authorized[ ]to[ ]perform[ ]ses:sendrawemail[ ]on[ ]resource
        |you[ ]are[ ]not[ ]authorized[ ]to[ ]send[ ]mail,[ ]authentication[ ]is[ ]required
        |verification[ ]failure
        )""",
    ),
    "authfailure": Wording(
        en=(
            "spf", "dmarc", "dkim", "sender policy framework", "is not allowed to send from",
            "not authorized to send on behalf", "authentication checks failed", "unauthenticated email",
            "sender is not authenticated", "5.7.26", "5.7.23", "5.7.20", "5.7.21", "5.7.22", "5.7.509",
        ),
        de=("absenderauthentifizierung",),
        fr=("authentification de l'expéditeur",),
        es=("autenticación del remitente",),
        it=("autenticazione del mittente",),
        pt=("autenticação do remetente",),
        nl=("afzenderverificatie",),
        ru=("проверку подлинности отправителя", "проверка подлинности отправителя"),
        ja=("送信ドメイン認証",),
        zh=("发件人验证失败", "发件人认证失败"),
    ),
    "requireptr": Wording(
        en=(
            "reverse dns", "rdns", "ptr record", "ptr resource record", "ip name lookup failed",
            "cannot find your hostname", "cannot find your reverse hostname", "no reverse", "reverse lookup",
            "hostname lookup failed", "does not resolve", "cannot resolve your address",
            "client host rejected: cannot find", "5.7.25",
        ),
        de=("kein ptr", "keinen ptr", "reverse-dns"),
        fr=("dns inverse", "résolution inverse"),
        es=("dns inverso", "resolución inversa"),
        it=("dns inverso", "risoluzione inversa"),
        pt=("dns reverso", "resolução reversa"),
        nl=("omgekeerde dns",),
        ru=("обратной зоны", "обратная запись", "ptr-запис"),
        ja=("逆引き",),
        zh=("反向解析", "反向dns", "ptr记录"),
    ),
    "badreputation": Wording(
        en=(
            "low reputation", "poor reputation", "bad reputation", "ip reputation", "sender reputation",
            "reputation of the sending", "user complaints",
        ),
        de=("schlechte reputation", "schlechten reputation"),
        fr=("mauvaise réputation",),
        es=("mala reputación", "baja reputación"),
        it=("cattiva reputazione", "bassa reputazione"),
        pt=("má reputação", "baixa reputação"),
        nl=("slechte reputatie", "lage reputatie"),
        ru=("плохая репутация", "низкая репутация", "плохой репутации", "низкой репутации"),
        ja=("レピュテーション", "評価が低い"),
        zh=("信誉度低", "信誉不佳", "信誉较低"),
    ),
    "notcompliantrfc": Wording(
        en=(
            "not rfc 5322 compliant", "not rfc5322 compliant", "not rfc 2822 compliant",
            "multiple addresses in from", "duplicate header", "multiple subject", "multiple from", "rfc 5322",
            "rfc5322",
        ),
        de=("nicht rfc-konform", "entspricht nicht * rfc"),
        fr=("non conforme * rfc",),
        es=("no cumple * rfc", "no conforme * rfc"),
        it=("non conforme * rfc",),
        pt=("não conforme * rfc", "não está em conformidade com * rfc"),
        nl=("niet rfc-conform", "voldoet niet aan * rfc"),
        ru=("не соответствует rfc",),
        ja=("rfcに準拠していない", "rfc違反"),
        zh=("不符合rfc", "不符合 rfc"),
    ),
    "speeding": Wording(
        en=(
            "receiving mail at a rate", "rate limit", "too many recipients this hour", "sending rate",
            "too many messages", "exceeded the rate", "has sent to too many recipients", "throttl",
            "sending too fast", "sending too many messages", "message rate", "messages per hour", "rate-limited",
            "rate exceeded", "receiving mail too quickly", "receiving email too quickly",
        ),
        de=("zu viele nachrichten", "zu viele e-mails", "senderate", "sendelimit", "versandlimit"),
        fr=("trop de messages", "limite d'envoi"),
        es=("demasiados mensajes", "demasiados correos", "límite de envío"),
        it=("troppi messaggi", "limite di invio"),
        pt=("muitas mensagens", "limite de envio"),
        nl=("te veel berichten", "verzendlimiet"),
        ru=("слишком много писем", "слишком много сообщений", "лимит отправки"),
        ja=("送信数の上限", "送信制限"),
        zh=("发送频率", "发信频率", "发送过于频繁", "发送太频繁", "频率过高", "發送頻率"),
        unless=("connection rate", "connection limit", "too many connections", "frequency limited", "reputation"),
    ),
    "toomanyconn": Wording(
        en=(
            "all available ips are at maximum connection limit", "connection rate limit exceeded",
            "exceeds per-domain connection limit for", "has exceeded the max emails per hour ",
            "throttling failure: daily message quota exceeded",
            "throttling failure: maximum sending rate exceeded", "too many connections",
            "too many connections from your host.", "too many concurrent smtp connections",
            "too many errors from your ip", "too many recipients", "too many smtp sessions for this host",
            "trop de connexions, ", "we have already made numerous attempts to deliver this message",
            "too many simultaneous connections", "connection limit", "connection rate limit", "frequency limited",
            "too many sessions",
        ),
        de=("zu viele verbindungen", "verbindungslimit"),
        fr=("trop de connexions", "limite de connexions"),
        es=("demasiadas conexiones", "límite de conexiones"),
        it=("troppe connessioni", "limite di connessioni"),
        pt=("muitas conexões", "conexões demais", "limite de conexões"),
        nl=("te veel verbindingen", "verbindingslimiet"),
        ru=("слишком много соединений", "слишком много подключений", "лимит соединений"),
        ja=("接続数が多すぎ", "同時接続数", "接続数の上限"),
        zh=("连接数过多", "连接过多", "連接數過多"),
    ),
    "norelaying": Wording(
        en=(
            "as a relay", "insecure mail relay",
            "is not permitted to relay through this server without authentication",
            "mail server requires authentication when attempting to send to a non-local e-mail address",
            "not a gateway", "not allowed to relay through this machine", "not an open relay, so get lost",
            "not local host", "relay access denied", "relay denied", "relaying mail to ", "relay not permitted",
            "relaying denied", "that domain isn't in my list of allowed rcpthost",
            "this system is not configured to relay mail", "unable to relay for", "we don't handle mail for",
            "we do not relay", "no relaying", "not permitted to relay", "relaying not allowed", "relay not allowed",
            "relaying prohibited", "relay prohibited",
        ),
        de=(
            "relaying nicht erlaubt", "relay nicht erlaubt", "relaying verweigert", "relay verweigert",
            "relaying ist nicht gestattet",
        ),
        fr=("relais refusé", "relais non autorisé", "relayage refusé", "relayage non autorisé", "relais interdit"),
        es=("relay no permitido", "retransmisión no permitida", "reenvío no permitido", "relay denegado"),
        it=("relay non permesso", "relay non consentito", "relay negato", "inoltro non consentito"),
        pt=("relay não permitido", "retransmissão não permitida", "relay negado"),
        nl=("relay niet toegestaan", "relaying niet toegestaan", "doorsturen niet toegestaan"),
        ru=("релей запрещён", "ретрансляция запрещена", "пересылка запрещена"),
        ja=("中継を拒否", "中継は許可", "リレー拒否"),
        zh=("不允许转发", "禁止转发", "不允许中继", "拒绝中继", "中继被拒绝"),
    ),
    "networkerror": Wording(
        en=(
            "could not connect and send the mail to",
            "dns records for the destination computer could not be found",
            "hop count exceeded - possible mail loop", "host is unreachable", "host unreachable",
            "host name lookup failure",
            "host not found, try again", "mail forwarding loop for ", "malformed name server reply",
            "malformed or unexpected name server reply", "maximum forwarding loop count exceeded",
            "message looping", "message probably in a routing loop", "no route to host", "too many hops",
            "unable to resolve route ", "unrouteable mail domain", "lost connection with", "network error",
            "network is unreachable", "dns query failed", "mail loop",
        ),
        de=(
            "netzwerkfehler", "verbindung * fehlgeschlagen", "verbindung * unterbrochen", "verbindung verloren",
            "mailschleife", "mail-schleife", "schleife erkannt",
        ),
        fr=(
            "erreur réseau", "connexion perdue", "connexion interrompue", "connexion impossible",
            "échec de la connexion",
        ),
        es=("error de red", "conexión perdida", "conexión interrumpida", "no se pudo conectar"),
        it=("errore di rete", "connessione persa", "connessione interrotta", "impossibile connettersi"),
        pt=("erro de rede", "conexão perdida", "conexão interrompida", "não foi possível conectar"),
        nl=("netwerkfout", "verbinding verbroken", "verbinding mislukt"),
        ru=(
            "сетевая ошибка", "ошибка сети", "соединение разорвано", "не удалось подключиться",
            "не удалось соединиться", "потеряно соединение", "зацикливание",
        ),
        ja=("ネットワークエラー", "接続できません", "接続に失敗", "接続が切断"),
        zh=("网络错误", "網絡錯誤", "连接失败", "无法连接", "無法連接", "连接中断"),
    ),
    "systemerror": Wording(
        en=(
            "aliasing/forwarding loop broken", "can't create user output file", "could not load drd for domain",
            "internal error reading data", "internal server error: operation now in progress",
            "interrupted system call", "it encountered an error while being processed",
            "it would create a mail loop", "local configuration error", "local error in processing",
            "loop was found in the mail exchanger", "loops back to myself", "queue file write error",
            "mail system configuration error", "remote server is misconfigured", "server configuration error",
            "service currently unavailable", "system config error", "temporary local problem",
            "timeout waiting for input", "transaction failed", "internal error", "internal server error",
            "system error", "temporary system problem",
        ),
        de=("interner fehler", "systemfehler", "serverfehler", "lokaler fehler", "interner serverfehler"),
        fr=("erreur interne", "erreur système", "erreur du serveur", "erreur locale"),
        es=("error interno", "error del sistema", "error del servidor", "error local"),
        it=("errore interno", "errore di sistema", "errore del server", "errore locale"),
        pt=("erro interno", "erro do sistema", "erro no servidor", "erro do servidor", "erro local"),
        nl=("interne fout", "systeemfout", "serverfout"),
        ru=("внутренняя ошибка", "системная ошибка", "ошибка сервера", "локальная ошибка"),
        ja=("内部エラー", "システムエラー", "サーバエラー", "サーバーエラー", "一時的な障害"),
        zh=("内部错误", "系统错误", "系統錯誤", "服务器错误", "伺服器錯誤"),
    ),
    "systemfull": Wording(
        en=(
            "mail system full", "requested mail action aborted: exceeded storage allocation",
            "insufficient system storage", "no space left on device", "out of disk space",
        ),
        de=("festplatte voll", "speicherplatz auf dem server"),
        fr=("espace disque insuffisant", "disque plein"),
        es=("espacio en disco insuficiente", "disco lleno", "sin espacio en disco"),
        it=("spazio su disco insufficiente", "disco pieno"),
        pt=("espaço em disco insuficiente", "disco cheio"),
        nl=("onvoldoende schijfruimte", "schijf vol"),
        ru=("недостаточно места на диске", "диск переполнен", "нет места на диске"),
        ja=("ディスク容量が不足", "ディスクがいっぱい"),
        zh=("磁盘空间不足", "磁盘已满", "硬盘空间不足"),
    ),
    "contenterror": Wording(
        en=(
            "header size exceeds maximum permitted", "improper use of 8-bit data in message header",
            "message header size, or recipient list, exceeds policy limit",
            "message mime complexity exceeds the policy maximum",
            "routing loop detected -- too many received: headers", "this message contain invalid mime headers",
            "this message contain improperly-formatted binary content",
            "this message contain text that uses unnecessary base64 encoding", "invalid header", "malformed header",
            "message is malformed", "malformed message",
        ),
        de=("ungültiger header", "fehlerhafter header", "ungültige kopfzeile"),
        fr=("en-tête invalide", "en-tête mal formé"),
        es=("encabezado no válido", "encabezado inválido", "cabecera inválida"),
        it=("intestazione non valida",),
        pt=("cabeçalho inválido",),
        nl=("ongeldige header", "ongeldige koptekst"),
        ru=("неверный заголовок", "некорректный заголовок"),
        ja=("ヘッダが不正", "不正なヘッダ"),
        zh=("邮件头错误", "信头错误", "无效的邮件头"),
    ),
    "mailererror": Wording(
        en=("unknown mailer error", "local delivery failed"),
        pattern=r"""(?>
         \Aprocmail:[ ]
        |bin/(?:procmail|maildrop)
        |command[ ](?:
             failed:[ ]
            |died[ ]with[ ]status[ ]\d+
            |output:
            )
        |exit[ ]\d+
        |mailer[ ]error
        |pipe[ ]to[ ][|][/][^ ]+
        |x[-]unix[;][ ]\d+
        )""",
    ),
    "syntaxerror": Wording(
        en=(
            "syntax error", "command unrecognized", "command not recognized", "unrecognized command",
            "bad sequence of commands", "command not implemented", "parameter not implemented",
        ),
        de=("syntaxfehler",),
        fr=("erreur de syntaxe",),
        es=("error de sintaxis",),
        it=("errore di sintassi",),
        pt=("erro de sintaxe",),
        nl=("syntaxfout",),
        ru=("синтаксическая ошибка", "ошибка синтаксиса"),
        ja=("構文エラー",),
        zh=("语法错误", "語法錯誤"),
    ),
    "vacation": Wording(
        en=(
            "i am away on vacation", "i am away until", "i am out of the office",
            "i will be traveling for work on",
        ),
        de=("nicht im büro", "außer haus", "im urlaub", "abwesenheitsnotiz", "bin abwesend"),
        fr=("absent du bureau", "en congé", "en vacances", "absent jusqu"),
        es=("fuera de la oficina", "de vacaciones", "estaré ausente"),
        it=("fuori ufficio", "in ferie", "in vacanza", "sarò assente"),
        pt=("fora do escritório", "de férias", "estarei ausente"),
        nl=("afwezig", "buiten kantoor", "op vakantie"),
        ru=("в отпуске", "вне офиса", "отсутствую"),
        ja=("不在にして", "休暇"),
        zh=("不在办公室", "休假", "外出"),
    ),
    "failedstarttls": Wording(
        en=(
            "starttls failed", "tls handshake failed", "tls negotiation failed", "failed to establish tls",
            "could not start tls", "cannot start tls", "tls session could not be established",
        ),
        de=("tls-aushandlung fehlgeschlagen", "tls-verbindung fehlgeschlagen"),
        fr=("échec de la négociation tls", "échec de starttls"),
        es=("fallo en la negociación tls", "no se pudo establecer tls"),
        it=("negoziazione tls fallita", "impossibile stabilire tls"),
        pt=("falha na negociação tls", "não foi possível estabelecer tls"),
        nl=("tls-onderhandeling mislukt",),
        ru=("ошибка согласования tls", "не удалось установить tls"),
        ja=("tlsのネゴシエーションに失敗", "starttlsに失敗"),
        zh=("tls协商失败", "starttls失败"),
    ),
    "suppressed": Wording(
        en=(
            "on the suppression list", "on the account-level suppression list",
            "has suppressed sending to this address", "address is suppressed", "recipient is suppressed",
        ),
    ),
    "onhold": Wording(),  # decided by structure: the fallback when nothing else decides
    "undefined": Wording(),  # decided by structure: no diagnostic at all
    "delivered": Wording(),  # decided by structure: a 2.x.y status
    "delayed": Wording(),  # decided by structure: an Action of delayed (see expired for the words)
    "feedback": Wording(),  # decided by structure: an ARF report
}
# fmt: on

# Rules of particular receiving servers (Sisimai::Rhost::*), keyed by the name of the rule set.
# RHOST_HOSTS: regex on the remote MTA host name, or on the recipient's domain, → rule set.
RHOST_HOSTS: tuple[tuple[str, str], ...] = (
    (r"(?:\A|\.)(?:laposte\.net|orange\.fr|wanadoo\.fr)\Z", "franceptt"),
    (r"(?:\A|\.)secureserver\.net\Z", "godaddy"),
    (r"\.yahoodns\.net\Z", "yahooinc"),
    (r"\.mimecast\.com\Z", "mimecast"),
    (r"\Amfsmax\.docomo\.ne\.jp\Z", "nttdocomo"),
    (r"(?:\A|\.)(?:aspmx|gmail-smtp-in)\.l\.google\.com\Z", "google"),
    (r"\.(?:prod|protection)\.outlook\.com\Z", "microsoft"),
    (r"\.(?:mail\.icloud|me|mac)\.com\Z", "apple"),
    (r"(?:\A|\.)(?:ezweb\.ne\.jp|au\.com)\Z", "kddi"),
)

# Orange / La Poste: the three digits of "LPN007_426", "OFR_999", "ofr_506" (Rhost::FrancePTT).
# None: the code says nothing definite ("please try later"), the reason stays undecided.
FRANCEPTT_CODES: dict[str, str | None] = {
    "101": "blocked", "102": "blocked", "103": "blocked", "104": "toomanyconn", "105": None,
    "107": None, "108": None, "109": None, "201": None, "305": "securityerror", "401": "blocked",
    "402": "securityerror", "403": "rejected", "405": "rejected", "415": "rejected",
    "416": "userunknown", "417": "mailboxfull", "418": "userunknown", "420": "suspend",
    "421": "rejected", "423": None, "424": None, "426": "suspend", "505": "systemerror",
    "506": "spamdetected", "510": "blocked", "513": None, "514": "mesgtoobig",
    "517": "policyviolation", "630": "policyviolation", "999": "blocked",
}

# GoDaddy (secureserver.net): "IB607"-style codes (Rhost::GoDaddy), then phrases.
GODADDY_CODES: dict[str, str] = {
    "IB401": "securityerror", "IB501": "notcompliantrfc", "IB502": "notcompliantrfc",
    "IB506": "rejected", "IB508": "authfailure", "IB108": "requireptr", "IB212": "spamdetected",
    "IB705": "virusdetected", "IB605": "toomanyconn", "IB007": "toomanyconn", "IB101": "speeding",
    "IB110": "blocked", "IB111": "blocked", "IB112": "blocked", "IB113": "blocked",
    "IB504": "speeding", "IB510": "speeding", "IB607": "speeding", "IB103": "badreputation",
    "IB104": "blocked", "IB105": "blocked", "IB106": "blocked",
}

# reason → phrases (lowercase substrings) for each rule set without codes of its own.
RHOST_PHRASES: dict[str, dict[str, tuple[str, ...]]] = {
    # au (KDDI, ezweb.ne.jp): an address that does not exist is refused with "550 <a@ezweb.ne.jp>:
    # User unknown", mail its domain filter refuses with "550 : User unknown" (no address; Rhost::KDDI).
    # Tried in this order: a report that quotes both replies is about the address.
    "kddi": {
        "userunknown": (">: user unknown",),
        "filtered": ("550 : user unknown",),
    },
    "godaddy": {
        "blocked": ("rbl reject", "www.spamhaus.org/query/bl?ip="),
        "expired": ("has been in the queue too long", "delivery timeout"),
        "mailboxfull": ("account storage limit",),
        "spamdetected": ("message rejected for spam or virus content",),
        "suspend": ("account disabled",),
        "systemerror": ("message is looping",),
        "userunknown": ("recipient not found", "account does not exist"),
    },
    "yahooinc": {
        "authfailure": ("yahoo requires all senders to authenticate with either spf or dkim",),
        "blocked": (" because the ip is in spamhaus's list;", "not accepted from ip addresses on spamhaus xbl"),
        "norelaying": ("relaying denied for ",),
        "notcompliantrfc": ("headers are not rfc compliant",),
        "policyviolation": ("not accepted for policy reasons",),
        "rejected": ("temporarily deferred due to unexpected volume or user complaints",
                     "due to unresolvable rfc.5321 domain", " will be permanently deferred"),
        "speeding": ("user is receiving mail too quickly",),
        "suspend": (" is no longer valid.", "this mailbox is disabled"),
        "syntaxerror": ("syntax error in parameters or arguments",),
        "toomanyconn": ("max message per connection reached",),
        "userunknown": ("dd this user doesn't have a ", "mailbox not found"),
    },
    "mimecast": {
        "authfailure": ("spf sender invalid - envelope rejected", "dkim sender invalid - envelope rejected",
                        "dmarc sender invalid - envelope rejected"),
        "badreputation": ("internal resources are temporarily unavailable", "local ct ip reputation - (reject)"),
        "blocked": ("sender address blocked", "recipient temporarily unavailable", "ip temporarily blacklisted"),
        "mesgtoobig": ("maximum email size exceeded",),
        "networkerror": ("mail loop detected",),
        "norelaying": ("open relay not allowed",),
        "notaccept": ("account inbounds disabled",),
        "policyviolation": ("anti-spoofing policy - inbound not allowed",
                            "rejected by header-based anti-spoofing policy",
                            "message bounced due to content examination policy", "host network not allowed"),
        "rejected": ("administrative prohibition envelope blocked", "envelope blocked – user entry",
                     "envelope blocked – user domain entry",
                     "rejected by header-based manually blocked senders",
                     "rejected by header-based blocked senders",
                     "envelope rejected - block policy for envelope from address"),
        "securityerror": ("incorrect authentication data", "this route requires encryption (tls)",
                          "this route requires tls version 1.2 or greater",
                          "this route requires high-strength ciphers",
                          "configuration is invalid for this certificate"),
        "systemerror": ("unable to process connection at this time", "message ended early",
                        "unable to process command", "unable to process an email at this time"),
        "toomanyconn": ("account service is temporarily unavailable", "too many recipients",
                        "exceeding outbound thread limit"),
        "userunknown": ("invalid recipient",),
        "virusdetected": ("email rejected due to security policies",),
    },
    "nttdocomo": {
        "mailboxfull": ("552 too much mail data",),
        "toomanyconn": ("552 too many recipients",),
        "syntaxerror": ("503 bad sequence of commands", "504 command parameter not implemented"),
    },
    "google": {
        "authfailure": ("does not have authentication information or fails to pass",
                        "this message does not pass authentication checks", "unauthenticated email",
                        "fails to pass authentication checks (spf and dkim)",
                        "the sender's domain has a dmarc policy"),
        "notcompliantrfc": ("multiple addresses in from: header are not accepted",
                            "is not rfc 5322 compliant", "duplicate header",
                            "messages missing a valid message-id header are not accepted"),
        "blocked": ("the ip you're using to send mail is not authorized",
                    "our system has detected an unusual rate of unsolicited mail originating from your ip"),
        "requireptr": ("the ip address sending this message does not have a ptr record setup",),
        "badreputation": ("sending domain has a low reputation",
                          "our system has detected that this message is likely suspicious due to the very low reputation"),
        "speeding": ("receiving mail at a rate that", "has received too many messages from you"),
        "suspend": ("the email account that you tried to reach is disabled",),
        "userunknown": ("the email account that you tried to reach does not exist",),
        "mailboxfull": ("the email account that you tried to reach is over quota",),
        "systemerror": ("temporary system problem",),
    },
    "microsoft": {
        "authfailure": ("5.7.509", "access denied, sending domain", "does not pass dmarc verification",
                        "sender domain doesn't pass dmarc"),
        "blocked": ("banned sending ip", "5.7.606", "5.7.511"),
        "userunknown": ("requested action not taken: mailbox unavailable", "recipientnotfound",
                        "recipient not found by smtp address lookup"),
    },
    "apple": {
        "authfailure": ("due to dmarc policy",),
        "blocked": ("esmtp not accepting connections", "blocked due to spf"),
        "suspend": ("recipient account is disabled",),
    },
}

# What particular MTA families write for a reason in their own words or categories (after the
# message tables of Sisimai::Lhost::McAfee, Exchange2003, Notes, Domino, IMailServer, Outlook,
# Office365 and PowerMTA). Applied only to messages of that family (see formats.family_of).
FAMILY_PHRASES: dict[str, dict[str, tuple[str, ...]]] = {
    # Amazon SES receiving keeps no mailboxes: it bounces only by a receipt rule's Bounce action,
    # whose message the domain's owner picks from templates. "Mailbox does not exist" there is
    # a rule refusing the mail, not a mailbox looked up (Sisimai::Lhost::ReceivingSES).
    "receivingses": {
        "filtered": ("mailbox does not exist",),
        "mesgtoobig": ("message too large",),
        "mailboxfull": ("mailbox full",),
        "contenterror": ("message content rejected",),
    },
    "mcafee": {
        "userunknown": ("user unknown", "unknown user", "no such user", "user not found", "user not exist",
                        "recipient unknown", "invalid recipient"),
    },
    "exchange2003": {
        "userunknown": ("the recipient name is not recognized", "000c05a6", "000c0595", "000c05a0"),
        "mailboxfull": ("the recipient's mailbox is full",),
        "hostunknown": ("the e-mail system was unable to deliver the message, but did not report a specific reason",),
    },
    "notes": {
        "userunknown": ("user not listed in public name & address book", "ディレクトリのリストにありません",
                        "not listed in domino directory", "domino ディレクトリには見つかりません"),
    },
    "imailserver": {
        "hostunknown": ("unknown host",),
        "userunknown": ("unknown user", "invalid final delivery userid"),
        "mailboxfull": ("user mailbox exceeds allowed size",),
        "virusdetected": ("requested action not taken: virus detected",),
    },
    "outlook": {
        "userunknown": ("requested action not taken: mailbox unavailable", "mailbox unavailable",
                        "user unknown", "no such user"),
        "mailboxfull": ("mailbox is full", "mailbox has exceeded the limit"),
    },
    "office365": {
        "userunknown": ("unknown recipient or mailbox unavailable ->", "recipientnotfound",
                        "recipient not found by smtp address lookup",
                        "the email address wasn’t found at the destination domain",
                        "the email address wasn't found at the destination domain"),
    },
}
# PowerMTA's X-PowerMTA-BounceCategory → reason (Sisimai::Lhost::PowerMTA).
POWERMTA_CATEGORIES: dict[str, str] = {
    "bad-domain": "hostunknown", "bad-mailbox": "userunknown", "inactive-mailbox": "suspend",
    "message-expired": "expired", "no-answer-from-host": "networkerror",
    "policy-related": "policyviolation", "quota-issues": "mailboxfull",
    "routing-errors": "systemerror", "spam-related": "spamdetected",
}
