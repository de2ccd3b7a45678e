"""Load a trained DIET model for answering without a training step first.

Rasa 3.6's `RasaModel.load` compiles the model and trains it on one example
(`fit`) only so that Keras creates every weight, then overwrites the weights
from the checkpoint and predicts once to trace the prediction graph. The
training step traces the whole training graph: 5.3 s of the server's cold
start here, for weights that are thrown away at once.

`load_for_inference` reads the checkpoint first instead: TensorFlow restores
each weight when the prediction pass creates it (deferred restoration of a
checkpoint in TensorFlow's format, the format `RasaModel.save` writes). It
then checks that every weight the model has was restored from the
checkpoint, and otherwise (or for fine-tuning, eager mode, no prediction
example, or a model class other than DIET's, which no test here covers)
falls back to Rasa's own load. The weights are the checkpoint's
either way, so the answers are the same (tests/rasa_server/test_model_load.py
compares every intent ranking on the held-out messages). Measured here,
process start to the first /model/parse answer: 11.1 and 11.8 s with Rasa's
load, 7.7 and 7.8 s with this one.
"""

import logging
from typing import Any, Optional, Text, Type, TypeVar

from rasa.nlu.classifiers.diet_classifier import DIET
from rasa.utils.tensorflow.constants import RUN_EAGERLY
from rasa.utils.tensorflow.model_data import RasaModelData
from rasa.utils.tensorflow.models import RasaModel

logger = logging.getLogger(__name__)

Model = TypeVar("Model", bound=RasaModel)

# Rasa's own `RasaModel.load`, kept for the cases `load_for_inference` leaves to it.
rasa_load = RasaModel.load.__func__


def load_for_inference(
    cls: Type[Model],
    model_file_name: Text,
    model_data_example: RasaModelData,
    predict_data_example: Optional[RasaModelData] = None,
    finetune_mode: bool = False,
    *args: Any,
    **kwargs: Any,
) -> Model:
    """`RasaModel.load` with the same arguments and result, minus the training step.

    Args:
        model_file_name: the checkpoint prefix `RasaModel.save` wrote.
        model_data_example: one training example (used only by Rasa's own load).
        predict_data_example: one prediction example; traces the prediction graph.
        finetune_mode: True leaves the load to Rasa (fine-tuning needs the optimizer).
        *args, **kwargs: the model class's own arguments (DIET: data_signature,
            label_data, entity_tag_specs, config).

    Returns:
        The model with the checkpoint's weights, ready to predict.

    Raises:
        Whatever Rasa's own load raises, for a checkpoint neither load can use.
    """

    def the_rasa_way() -> Model:
        return rasa_load(
            cls, model_file_name, model_data_example, predict_data_example, finetune_mode, *args, **kwargs
        )

    if (
        # DIET's own model class, not its subclasses (ResponseSelector's DIET2BOW and DIET2DIET).
        cls is not DIET
        or finetune_mode
        or predict_data_example is None
        or kwargs.get("config", {}).get(RUN_EAGERLY)
    ):
        return the_rasa_way()
    try:
        model = cls(*args, **kwargs)
        status = model.load_weights(model_file_name)
        # Creates the weights (each restored from the checkpoint as it is made)
        # and traces the prediction graph, as Rasa's load does after its fit.
        model.run_inference(predict_data_example)
        # The checkpoint also holds the optimizer's state, which answering never reads.
        status.expect_partial()
        status.assert_existing_objects_matched()
    except Exception as error:  # why: when unsure, Rasa's own load decides, errors included
        # TensorFlow's messages list unmatched variables with their values: kept short here.
        logger.warning(
            "The checkpoint did not restore every weight (%s: %.200s); loading the Rasa way.",
            type(error).__name__,
            error,
        )
        logger.debug("The fast load failed in full: %s", error)
        return the_rasa_way()
    return model
