"""Crisis detection: the word list matcher (`matcher`), the semantic net (`semantic`,
`embedder`), the decision (`decision`), and the Rasa components (`component`, `policy`).

Nothing is imported here, so that the action server can import `bot.safety.decision` without
loading spaCy, TensorFlow or the embedding model.
"""
