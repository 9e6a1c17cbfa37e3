"""LangChain interface: the hybrid retriever as a langchain-core ``BaseRetriever``.

``ManualRetriever(retriever=deps.retriever).invoke("ALARM:9")`` returns ``Document`` objects
whose metadata carries the citation fields (source, page, section, chunk_id, scores), so the
retriever drops into any LCEL chain. The app itself calls ``Retriever.retrieve`` directly.
"""

from __future__ import annotations

from typing import Any

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict

from .retrieval import Retriever


class ManualRetriever(BaseRetriever):
    model_config = ConfigDict(arbitrary_types_allowed=True)

    retriever: Retriever
    k: int | None = None
    sources: list[str] | None = None
    equipment: str | None = None

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun | None = None, **kwargs: Any
    ) -> list[Document]:
        result = self.retriever.retrieve(query, k=self.k, sources=self.sources, equipment=self.equipment)
        docs = []
        for n, p in enumerate(result.passages, 1):
            meta = p.to_dict()
            text = meta.pop("text")
            meta["n"] = n
            meta["index_version"] = result.index_version
            docs.append(Document(page_content=text, metadata=meta, id=p.chunk.chunk_id))
        return docs
