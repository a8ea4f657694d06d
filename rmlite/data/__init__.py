"""The data: questions about maps, their reference answers, and data sets on disk.

Rooms, bottom up: `answers` (the reference answer text: `\\boxed{}` and route sections), `questions` (the six
question types, keys from the network's graph), `store` (save and load a data set: questions, one image per map,
manifest, `MapImages`), `build` (generate a data set: synthetic and real maps, the shipped mini set), `released`
(the released ReasonMap / ReasonMap-Plus sets), `export` and `engine_settings` (parquet for verl and EasyR1 in
curriculum order, and the engine settings that keep it), `legibility`, `audit`, `recheck` and `shortcuts` (the data
audit, a gate), `cards` (pictures for people: a sample card, the gallery).
"""

from rmlite.data.answers import boxed, format_route, reference_completion
from rmlite.data.build import MINI_CONFIG, MINI_DIR, DatasetConfig, generate_dataset, mini_dataset
from rmlite.data.cards import answer_card, gallery, sample_card
from rmlite.data.export import export
from rmlite.data.questions import QuestionConfig, generate_questions
from rmlite.data.released import load_released
from rmlite.data.store import MapImages, load_maps, load_questions, load_split, map_row, read_manifest

__all__ = ["boxed", "format_route", "reference_completion", "MINI_CONFIG", "MINI_DIR", "DatasetConfig",
           "generate_dataset", "mini_dataset", "answer_card", "gallery", "sample_card", "export", "QuestionConfig",
           "generate_questions", "load_released", "MapImages", "load_maps", "load_questions", "load_split",
           "map_row", "read_manifest"]
