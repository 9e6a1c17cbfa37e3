"""The operator's language around the manual's words: UI strings and answer framing.

The language is the HMI's ``lang=`` or the question's own; the quoted manual text is never
translated: it stays verbatim and is labelled with its language. English is the fallback for a
language without a translation here (the tables cover en, de, es, fr, it, pt, zh).
"""

from __future__ import annotations

from core.language import NAMES as ENGLISH_NAMES

LANGS = ("en", "de", "es", "fr", "it", "pt", "zh")

STRINGS: dict[str, dict[str, str]] = {
    "searching": {
        "en": "Searching the manuals…",
        "de": "Suche in den Handbüchern…",
        "es": "Buscando en los manuales…",
        "fr": "Recherche dans les manuels…",
        "it": "Ricerca nei manuali…",
        "pt": "A procurar nos manuais…",
        "zh": "正在查找手册…",
    },
    "found": {
        "en": "Found in the manuals:",
        "de": "In den Handbüchern gefunden:",
        "es": "Encontrado en los manuales:",
        "fr": "Trouvé dans les manuels :",
        "it": "Trovato nei manuali:",
        "pt": "Encontrado nos manuais:",
        "zh": "在手册中找到：",
    },
    "writing": {
        "en": "Writing the answer…",
        "de": "Antwort wird geschrieben…",
        "es": "Redactando la respuesta…",
        "fr": "Rédaction de la réponse…",
        "it": "Scrittura della risposta…",
        "pt": "A escrever a resposta…",
        "zh": "正在生成回答…",
    },
    "from_manual_page": {
        "en": "From the manual, page {page}:",
        "de": "Aus dem Handbuch, Seite {page}:",
        "es": "Del manual, página {page}:",
        "fr": "Extrait du manuel, page {page} :",
        "it": "Dal manuale, pagina {page}:",
        "pt": "Do manual, página {page}:",
        "zh": "手册第 {page} 页：",
    },
    "from_manual": {
        "en": "From the manual:",
        "de": "Aus dem Handbuch:",
        "es": "Del manual:",
        "fr": "Extrait du manuel :",
        "it": "Dal manuale:",
        "pt": "Do manual:",
        "zh": "手册原文：",
    },
    "quoted_in": {
        "en": "manual text in {language}",
        "de": "Handbuchtext auf {language}",
        "es": "texto del manual en {language}",
        "fr": "texte du manuel en {language}",
        "it": "testo del manuale in {language}",
        "pt": "texto do manual em {language}",
        "zh": "手册原文（{language}）",
    },
    "generated": {
        "en": "Assistant's summary (checked against the manual):",
        "de": "Zusammenfassung des Assistenten (mit dem Handbuch abgeglichen):",
        "es": "Resumen del asistente (comprobado con el manual):",
        "fr": "Résumé de l'assistant (vérifié avec le manuel) :",
        "it": "Sintesi dell'assistente (verificata sul manuale):",
        "pt": "Resumo do assistente (verificado com o manual):",
        "zh": "助手摘要（已与手册核对）：",
    },
    "sources": {
        "en": "Sources:",
        "de": "Quellen:",
        "es": "Fuentes:",
        "fr": "Sources :",
        "it": "Fonti:",
        "pt": "Fontes:",
        "zh": "来源：",
    },
    "closest": {
        "en": "Closest passages, may not answer this:",
        "de": "Nächstliegende Stellen, beantworten die Frage vielleicht nicht:",
        "es": "Pasajes más cercanos, puede que no respondan a esto:",
        "fr": "Passages les plus proches, ils ne répondent peut-être pas :",
        "it": "Passaggi più vicini, potrebbero non rispondere:",
        "pt": "Passagens mais próximas, podem não responder a isto:",
        "zh": "最接近的段落，可能并未回答此问题：",
    },
    "not_in_manuals": {
        "en": "Not in the manuals. Nearest passages (not an answer):",
        "de": "Nicht in den Handbüchern. Nächste Stellen (keine Antwort):",
        "es": "No está en los manuales. Pasajes más cercanos (no son una respuesta):",
        "fr": "Pas dans les manuels. Passages les plus proches (pas une réponse) :",
        "it": "Non è nei manuali. Passaggi più vicini (non sono una risposta):",
        "pt": "Não está nos manuais. Passagens mais próximas (não são uma resposta):",
        "zh": "手册中没有。最接近的段落（不是答案）：",
    },
    "page_short": {
        "en": "p. {page}",
        "de": "S. {page}",
        "es": "p. {page}",
        "fr": "p. {page}",
        "it": "p. {page}",
        "pt": "p. {page}",
        "zh": "第 {page} 页",
    },
    "page": {
        "en": "page {page}",
        "de": "Seite {page}",
        "es": "página {page}",
        "fr": "page {page}",
        "it": "pagina {page}",
        "pt": "página {page}",
        "zh": "第 {page} 页",
    },
    "open_original": {
        "en": "Open the original",
        "de": "Original öffnen",
        "es": "Abrir el original",
        "fr": "Ouvrir l'original",
        "it": "Apri l'originale",
        "pt": "Abrir o original",
        "zh": "打开原文件",
    },
    "open_original_at": {
        "en": "Open the original at page {page}",
        "de": "Original auf Seite {page} öffnen",
        "es": "Abrir el original en la página {page}",
        "fr": "Ouvrir l'original à la page {page}",
        "it": "Apri l'originale a pagina {page}",
        "pt": "Abrir o original na página {page}",
        "zh": "打开原文件第 {page} 页",
    },
    "llm_unavailable": {
        "en": "The language model is unavailable ({error}); the answer above is quoted from the manual.",
        "de": "Das Sprachmodell ist nicht erreichbar ({error}); die Antwort oben ist aus dem Handbuch zitiert.",
        "es": "El modelo de lenguaje no está disponible ({error}); la respuesta de arriba está citada del manual.",
        "fr": "Le modèle de langue est indisponible ({error}) ; la réponse ci-dessus est citée du manuel.",
        "it": "Il modello linguistico non è disponibile ({error}); la risposta sopra è citata dal manuale.",
        "pt": "O modelo de linguagem não está disponível ({error}); a resposta acima é citada do manual.",
        "zh": "语言模型不可用（{error}）；以上回答引自手册。",
    },
    "flagged_unused": {
        "en": "Passage {link} was not used for this answer: it was flagged because {why}.",
        "de": "Stelle {link} wurde für diese Antwort nicht verwendet: Sie wurde markiert, weil {why}.",
        "es": "El pasaje {link} no se usó para esta respuesta: se marcó porque {why}.",
        "fr": "Le passage {link} n'a pas été utilisé pour cette réponse : il a été signalé car {why}.",
        "it": "Il passaggio {link} non è stato usato per questa risposta: è stato segnalato perché {why}.",
        "pt": "A passagem {link} não foi usada nesta resposta: foi sinalizada porque {why}.",
        "zh": "段落 {link} 未用于此回答：它被标记，原因是 {why}。",
    },
    "placeholder": {
        "en": "Your question, e.g. What does E-107 mean?",
        "de": "Ihre Frage, z. B. Was bedeutet E-107?",
        "es": "Su pregunta, p. ej. ¿Qué significa E-107?",
        "fr": "Votre question, p. ex. Que signifie E-107 ?",
        "it": "La sua domanda, ad es. Cosa significa E-107?",
        "pt": "A sua pergunta, p. ex. O que significa E-107?",
        "zh": "您的问题，例如：E-107 是什么意思？",
    },
    "close": {
        "en": "Close",
        "de": "Schließen",
        "es": "Cerrar",
        "fr": "Fermer",
        "it": "Chiudi",
        "pt": "Fechar",
        "zh": "关闭",
    },
    "ask": {
        "en": "Ask",
        "de": "Fragen",
        "es": "Preguntar",
        "fr": "Demander",
        "it": "Chiedi",
        "pt": "Perguntar",
        "zh": "提问",
    },
    "tap_citation": {
        "en": "Tap a citation like [1] to see the page it comes from.",
        "de": "Tippen Sie auf eine Quelle wie [1], um die Seite zu sehen.",
        "es": "Toque una cita como [1] para ver la página de la que procede.",
        "fr": "Touchez une référence comme [1] pour voir la page d'origine.",
        "it": "Tocchi una citazione come [1] per vedere la pagina da cui proviene.",
        "pt": "Toque numa citação como [1] para ver a página de origem.",
        "zh": "点击 [1] 这样的引用，查看其所在页面。",
    },
    "manuals_status": {
        "en": "{n} manuals",
        "de": "{n} Handbücher",
        "es": "{n} manuales",
        "fr": "{n} manuels",
        "it": "{n} manuali",
        "pt": "{n} manuais",
        "zh": "{n} 本手册",
    },
    "machine": {
        "en": "machine",
        "de": "Maschine",
        "es": "máquina",
        "fr": "machine",
        "it": "macchina",
        "pt": "máquina",
        "zh": "设备",
    },
    "unknown_machine": {
        "en": "⚠ No manual in the library belongs to machine {tag}: questions are not answered until the screen's link is fixed. Machines with manuals: {known}.",
        "de": "⚠ Kein Handbuch der Bibliothek gehört zur Maschine {tag}: Fragen werden erst beantwortet, wenn der Link des Bildschirms korrigiert ist. Maschinen mit Handbüchern: {known}.",
        "es": "⚠ Ningún manual de la biblioteca pertenece a la máquina {tag}: no se responden preguntas hasta que se corrija el enlace de la pantalla. Máquinas con manuales: {known}.",
        "fr": "⚠ Aucun manuel de la bibliothèque n'appartient à la machine {tag} : aucune question n'est traitée tant que le lien de l'écran n'est pas corrigé. Machines avec manuels : {known}.",
        "it": "⚠ Nessun manuale della biblioteca appartiene alla macchina {tag}: le domande non ricevono risposta finché il link dello schermo non viene corretto. Macchine con manuali: {known}.",
        "pt": "⚠ Nenhum manual da biblioteca pertence à máquina {tag}: as perguntas não são respondidas até o link do ecrã ser corrigido. Máquinas com manuais: {known}.",
        "zh": "⚠ 资料库中没有属于设备 {tag} 的手册：在修正屏幕链接之前不回答问题。有手册的设备：{known}。",
    },
    "type_first": {
        "en": "Type a question first.",
        "de": "Bitte zuerst eine Frage eingeben.",
        "es": "Escriba primero una pregunta.",
        "fr": "Tapez d'abord une question.",
        "it": "Scriva prima una domanda.",
        "pt": "Escreva primeiro uma pergunta.",
        "zh": "请先输入问题。",
    },
    "too_long": {
        "en": "The question is too long ({n} characters; at most {max}). Please shorten it.",
        "de": "Die Frage ist zu lang ({n} Zeichen; höchstens {max}). Bitte kürzen.",
        "es": "La pregunta es demasiado larga ({n} caracteres; como máximo {max}). Acórtela, por favor.",
        "fr": "La question est trop longue ({n} caractères ; au plus {max}). Raccourcissez-la.",
        "it": "La domanda è troppo lunga ({n} caratteri; al massimo {max}). La accorci, per favore.",
        "pt": "A pergunta é demasiado longa ({n} caracteres; no máximo {max}). Encurte-a, por favor.",
        "zh": "问题太长（{n} 个字符；最多 {max} 个）。请缩短。",
    },
    "rate_limited": {
        "en": "Too many questions from this screen. Please wait {s} s.",
        "de": "Zu viele Fragen von diesem Bildschirm. Bitte {s} s warten.",
        "es": "Demasiadas preguntas desde esta pantalla. Espere {s} s.",
        "fr": "Trop de questions depuis cet écran. Patientez {s} s.",
        "it": "Troppe domande da questo schermo. Attenda {s} s.",
        "pt": "Demasiadas perguntas deste ecrã. Aguarde {s} s.",
        "zh": "此屏幕提问过多。请等待 {s} 秒。",
    },
    "went_wrong": {
        "en": "Something went wrong; the admin can see the log.",
        "de": "Etwas ist schiefgegangen; der Administrator sieht die Details im Protokoll.",
        "es": "Algo salió mal; el administrador puede ver el registro.",
        "fr": "Une erreur s'est produite ; l'administrateur peut consulter le journal.",
        "it": "Qualcosa è andato storto; l'amministratore può vedere il log.",
        "pt": "Algo correu mal; o administrador pode ver o registo.",
        "zh": "出错了；管理员可以查看日志。",
    },
    "try_again": {
        "en": "Try again",
        "de": "Erneut versuchen",
        "es": "Reintentar",
        "fr": "Réessayer",
        "it": "Riprova",
        "pt": "Tentar novamente",
        "zh": "重试",
    },
    "connection_lost": {
        "en": "The connection to the assistant was lost.",
        "de": "Die Verbindung zum Assistenten wurde unterbrochen.",
        "es": "Se perdió la conexión con el asistente.",
        "fr": "La connexion à l'assistant a été perdue.",
        "it": "La connessione con l'assistente è stata persa.",
        "pt": "A ligação ao assistente foi perdida.",
        "zh": "与助手的连接已断开。",
    },
}

# Names of the manuals' languages, in the operator's language (for the "manual text in ..." label).
LANGUAGE_NAMES: dict[str, dict[str, str]] = {
    "en": {code: ENGLISH_NAMES[code] for code in LANGS},
    "de": {
        "en": "Englisch",
        "de": "Deutsch",
        "es": "Spanisch",
        "fr": "Französisch",
        "it": "Italienisch",
        "pt": "Portugiesisch",
        "zh": "Chinesisch",
    },
    "es": {
        "en": "inglés",
        "de": "alemán",
        "es": "español",
        "fr": "francés",
        "it": "italiano",
        "pt": "portugués",
        "zh": "chino",
    },
    "fr": {
        "en": "anglais",
        "de": "allemand",
        "es": "espagnol",
        "fr": "français",
        "it": "italien",
        "pt": "portugais",
        "zh": "chinois",
    },
    "it": {
        "en": "inglese",
        "de": "tedesco",
        "es": "spagnolo",
        "fr": "francese",
        "it": "italiano",
        "pt": "portoghese",
        "zh": "cinese",
    },
    "pt": {
        "en": "inglês",
        "de": "alemão",
        "es": "espanhol",
        "fr": "francês",
        "it": "italiano",
        "pt": "português",
        "zh": "chinês",
    },
    "zh": {
        "en": "英文",
        "de": "德文",
        "es": "西班牙文",
        "fr": "法文",
        "it": "意大利文",
        "pt": "葡萄牙文",
        "zh": "中文",
    },
}


def ui_lang(lang: str | None) -> str:
    """The UI language for a language code ("de-AT" -> "de"); English when not translated."""
    code = (lang or "en").split("-")[0].split("_")[0].lower()
    return code if code in LANGS else "en"


def t(key: str, lang: str | None, **values: object) -> str:
    """The string ``key`` in the operator's language, with ``values`` filled in."""
    table = STRINGS[key]
    return table.get(ui_lang(lang), table["en"]).format(**values)


def language_name(code: str, lang: str | None) -> str:
    """The name of language ``code`` in the operator's language ("en" for a German operator: "Englisch")."""
    names = LANGUAGE_NAMES[ui_lang(lang)]
    return names.get(code, code.upper())
