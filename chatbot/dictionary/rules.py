"""Per-language word rules: stopwords, inflection endings, German compound links, Romance cognate
endings, and the token shapes that stay as they are (codes, numbers)."""

from __future__ import annotations

import re


def _stopset(words: str) -> frozenset[str]:
    return frozenset(words.split())


STOP: dict[str, frozenset[str]] = {
    "de": _stopset(
        """der die das den dem des ein eine einen einem einer eines kein keine keinen keinem keiner
        ich du er sie es wir ihr man mich mir dich dir sich uns euch ihm ihn ihnen mein meine meinen
        meinem meiner dein deine sein seine seinen seinem ihre ihren ihrem unser unsere euer
        dieser diese dieses diesen diesem jener jene welche welcher welches welchen welchem
        was wer wie wo wann warum wieso weshalb woran wobei womit wozu wofür wohin woher wieviel
        wieviele viele vielen
        bin bist ist sind seid war waren wäre wären sein gewesen habe hast hat haben habt hatte hatten
        hätte werde wirst wird werden wurde wurden würde würden worden kann kannst können könnte
        konnte muss musst müssen musste müsste soll sollst sollen sollte sollten darf dürfen durfte
        will willst wollen möchte möchten mag
        und oder aber denn doch dass ob wenn als auch noch schon nur sehr so zu zum zur im ins am
        an auf aus bei mit nach von vor für über unter um durch gegen ohne bis seit in beim vom
        nicht nichts dann da dort hier etwa bitte mal eigentlich jetzt gerade immer
        tun mache machen"""
    ),
    "fr": _stopset(
        """le la les l un une des du de d au aux ce cet cette ces ceux celle celui
        je j tu il elle on nous vous ils elles me m te t se s lui leur leurs y en
        mon ma mes ton ta tes son sa ses notre nos votre vos
        qui que qu quoi quel quelle quels quelles lequel laquelle lesquels comment pourquoi où quand
        combien est-ce est sont suis es sommes êtes était étaient être été ai as a avons avez ont
        avait avoir faut peut peuvent puis-je puis pourrait dois doit doivent devrait
        et ou mais donc car ni si ne pas plus très aussi bien alors comme avec sans pour par sur
        sous dans entre vers chez avant après pendant depuis jusqu à"""
    ),
    "es": _stopset(
        """el la los las lo un una unos unas del al de
        yo tú tu él ella usted nosotros vosotros ellos ellas ustedes me te se nos os le les mi mis
        su sus nuestro nuestra este esta estos estas ese esa esos esas aquel esto eso
        qué que quién quiénes cuál cuáles cómo como dónde donde cuándo cuando cuánto cuánta cuántos
        cuántas por porqué
        es son soy eres somos está están estoy estás era eran ser sido estar hay ha han he has
        haber había puede pueden puedo debe deben debo debería tengo tiene tienen tener
        y o u e pero sino si no ni muy más también ya con sin para por en entre sobre hasta desde
        durante hacia según"""
    ),
    "it": _stopset(
        """il lo la i gli le l un uno una un' del dello della dei degli delle al allo alla ai agli
        alle dal dallo dalla dai dagli dalle nel nello nella nei negli nelle sul sullo sulla sui
        sugli sulle col di a da in con su per tra fra
        io tu lui lei noi voi loro mi ti si ci vi ne me te se mio mia miei mie tuo tua suo sua suoi
        sue nostro nostra questo questa questi queste quello quella quelli quelle
        che chi cosa quale quali come dove quando quanto quanta quanti quante perché
        è e sono sei siamo siete era erano essere stato stata ho hai ha abbiamo avete hanno avere
        può possono posso puoi deve devono devo dovrei
        o ma però se non né più molto anche già"""
    ),
    "pt": _stopset(
        """o a os as um uma uns umas do da dos das no na nos nas ao aos à às pelo pela pelos pelas
        de em por para com sem sobre entre até desde num numa
        eu tu ele ela você nós vós eles elas vocês me te se lhe lhes meu minha meus minhas seu sua
        seus suas nosso nossa este esta estes estas esse essa esses essas aquele aquela isto isso
        que quê quem qual quais como onde quando quanto quanta quantos quantas porque porquê
        é são sou és somos está estão estou era eram ser sido estar há tem têm ter pode podem posso
        deve devem devo
        e ou mas se não nem mais muito também já"""
    ),
    "zh": _stopset(
        """的 了 吗 呢 吧 啊 是 在 和 与 或 把 被 对 从 给 让 也 都 就 还 又 才 很 这 那 这个 那个
        这些 那些 我 我的 你 你的 他 她 它 我们 你们 他们 什么 如何 怎么 怎样 怎么样 为什么 哪 哪个
        哪些 多少 几 吗 呀 之 其 该 个 时 时候 中 有 没有 要 会 能 可以 应该 应 需要 需 得 地 着 过
        请 一下 一个 上 下 里"""
    ),
}

EDGE = "\"'“”„«»‹›()[]{}<>.,;:!?¿¡…·、，。？！：；（）「」『』《》—–"
ELISION = re.compile(r"^(?:[ldjmnstc]|qu|dell|dall|nell|sull|all|quell|un|quest)['’]", re.I)
KEEP = re.compile(r"[\d_$]")
CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]+")
WORD_SPLIT = re.compile(r"\s+")

# inflection stripping: (suffix, replacements) tried in order on a word the dictionary lacks
ROMANCE_ENDINGS: dict[str, tuple[tuple[str, tuple[str, ...]], ...]] = {
    "fr": (
        ("aux", ("al", "ail")),
        ("eaux", ("eau",)),
        ("ées", ("er", "é", "ée")),
        ("és", ("er", "é")),
        ("ée", ("er", "é")),
        ("é", ("er",)),
        ("ent", ("er", "re", "ir", "")),
        ("ez", ("er",)),
        ("ons", ("er", "re", "ir")),
        ("es", ("e", "er", "")),
        ("s", ("",)),
        ("x", ("",)),
        ("e", ("er", "")),
    ),
    "es": (
        ("iones", ("ión",)),
        ("ces", ("z",)),
        ("es", ("", "e")),
        ("s", ("",)),
        ("ado", ("ar",)),
        ("ada", ("ar",)),
        ("ido", ("er", "ir")),
        ("ida", ("er", "ir")),
        ("an", ("ar",)),
        ("en", ("er", "ir")),
        ("o", ("ar", "er", "ir")),
        ("a", ("ar", "o")),
        ("e", ("ar", "er", "ir")),
    ),
    "it": (
        ("zioni", ("zione",)),
        ("i", ("o", "e", "io")),
        ("he", ("a",)),
        ("e", ("a", "o", "are", "ere", "ire")),
        ("ato", ("are",)),
        ("ata", ("are",)),
        ("ito", ("ire",)),
        ("uto", ("ere",)),
        ("ano", ("are",)),
        ("ono", ("ere", "ire")),
        ("a", ("are", "o")),
        ("o", ("are", "ere", "ire")),
    ),
    "pt": (
        ("ões", ("ão",)),
        ("ães", ("ão",)),
        ("ns", ("m",)),
        ("is", ("l",)),
        ("es", ("", "e")),
        ("s", ("",)),
        ("ado", ("ar",)),
        ("ada", ("ar",)),
        ("ido", ("er", "ir")),
        ("am", ("ar",)),
        ("em", ("er", "ir")),
        ("a", ("ar", "o")),
        ("o", ("ar", "er", "ir")),
        ("e", ("ar", "er", "ir")),
    ),
}
DE_ENDINGS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("ungen", ("ung",)),
    ("en", ("", "e")),
    ("er", ("",)),
    ("es", ("",)),
    ("e", ("", "en", "n")),
    ("n", ("",)),
    ("s", ("",)),
    ("t", ("en", "n")),
    ("st", ("en",)),
)
DE_LINK = ("", "s", "es", "n", "en", "e")


# Spanish and Portuguese share these runs of endings (in this order)
_IBERIAN_ADJ = (("izado", "ized"), ("izada", "ized"), ("icos", "ics"), ("ico", "ic"), ("ica", "ic"))
_IBERIAN_TAIL = (
    ("ia", "y"),
    ("mente", "ly"),
    ("oso", "ous"),
    ("osa", "ous"),
    ("ivo", "ive"),
    ("iva", "ive"),
    ("encia", "ence"),
    ("ancia", "ance"),
    ("tros", "ters"),
    ("tro", "ter"),
    ("ista", "ist"),
    ("ismo", "ism"),
    ("ar", "ate"),
    ("ar", "e"),
    ("er", "e"),
    ("ir", "e"),
    ("os", "s"),
    ("as", "s"),
    ("es", "s"),
    ("o", "e"),
    ("a", "e"),
    ("o", ""),
    ("a", ""),
    ("e", ""),
)

# Romance -> English cognate endings, tried on an accent-free word the dictionary lacks; a
# candidate counts only when it is an English word (the English side of the dictionaries).
COGNATES: dict[str, tuple[tuple[str, str], ...]] = {
    "es": (
        ("ciones", "tions"),
        ("cion", "tion"),
        ("siones", "sions"),
        ("idades", "ities"),
        ("idad", "ity"),
        *_IBERIAN_ADJ,
        *_IBERIAN_TAIL,
    ),
    "pt": (
        ("coes", "tions"),
        ("cao", "tion"),
        ("soes", "sions"),
        ("sao", "sion"),
        ("dades", "ties"),
        ("dade", "ty"),
        *_IBERIAN_ADJ,
        ("veis", "bles"),
        ("vel", "ble"),
        *_IBERIAN_TAIL,
    ),
    "it": (
        ("zioni", "tions"),
        ("zione", "tion"),
        ("sioni", "sions"),
        ("sione", "sion"),
        ("ita", "ity"),
        ("izzato", "ized"),
        ("izzata", "ized"),
        ("izzare", "ize"),
        ("ici", "ics"),
        ("ico", "ic"),
        ("ica", "ic"),
        ("ia", "y"),
        ("mente", "ly"),
        ("oso", "ous"),
        ("osa", "ous"),
        ("ivo", "ive"),
        ("iva", "ive"),
        ("enza", "ence"),
        ("anza", "ance"),
        ("abile", "able"),
        ("ibile", "ible"),
        ("ore", "or"),
        ("ori", "ors"),
        ("ente", "ent"),
        ("enti", "ents"),
        ("tro", "ter"),
        ("ista", "ist"),
        ("are", "ate"),
        ("are", "e"),
        ("ere", "e"),
        ("ire", "e"),
        ("i", "s"),
        ("e", "s"),
        ("o", "e"),
        ("a", "e"),
        ("o", ""),
        ("a", ""),
        ("e", ""),
        ("i", ""),
    ),
    "fr": (
        ("ite", "ity"),
        ("ites", "ities"),
        ("iques", "ics"),
        ("ique", "ic"),
        ("aque", "ac"),
        ("eur", "or"),
        ("eurs", "ors"),
        ("eur", "er"),
        ("tres", "ters"),
        ("tre", "ter"),
        ("ie", "y"),
        ("ence", "ency"),
        ("iser", "ize"),
        ("aire", "ary"),
        ("eux", "ous"),
        ("euse", "ous"),
        ("if", "ive"),
        ("ive", "ive"),
        ("er", "e"),
        ("er", "ate"),
        ("er", ""),
        ("ee", "ed"),
        ("e", "ed"),
        ("es", "s"),
        ("e", ""),
        ("s", ""),
    ),
}
