"""Adversarial fine-tuning of a sequence VAE: alternating discriminator and generator steps, correct on every backend.

The Keras-2 idiom (``discriminator.trainable = False``, then
``train_on_batch`` on a combined model) silently stops updating on PyTorch in
Keras 3. Here each phase computes the gradient of its own loss with respect to
its own network's variables only, with the backend's own differentiation
(``tf.GradientTape``, ``jax.value_and_grad`` over a stateless scope,
``torch.autograd.grad``), and applies it with that network's optimizer. The
other network's weights are read, never written.

The generator's loss is the VAE's (reconstruction cross-entropy plus the KL
cost) plus a small adversarial term (the hinge loss on the discriminator's
logits for Gumbel-softmax samples of the decoder's teacher-forced outputs) and
feature matching; the adversarial term never replaces the likelihood.

Example::

    trainer = AdversarialTrainer(vae, MultiScaleDiscriminator(64), adversarial_weight=0.05)
    for batch in segments:
        logs = trainer.train_step(batch)   # one discriminator step, then one generator step
"""

import itertools

import keras
from keras import ops

from musickit.losses.sequence import SequenceCrossEntropy
from musickit.losses.vae import discriminator_hinge_loss, feature_matching_loss, generator_hinge_loss, gumbel_softmax


def _unique(variables):
    seen, result = set(), []
    for variable in variables:
        if id(variable) not in seen:
            seen.add(id(variable))
            result.append(variable)
    return result


class GradientStep:
    """One optimisation step of ``loss_function(batch)`` over ``trainable``, compiled once for the backend.

    ``loss_function`` returns ``(loss, logs)``. ``state_variables`` is every
    variable the function reads or updates (both networks, seed generators);
    only ``trainable`` get gradients, and only ``optimizer`` moves them. The step
    runs under ``tf.function`` on TensorFlow, ``jax.jit`` (the gradient of a
    stateless scope over the variables' values and the optimizer's stateless update) on JAX, and eagerly on
    PyTorch.

    Example::

        step = GradientStep(lambda batch: (loss_of(batch), {}), model.trainable_variables, optimizer, model.variables)
        logs = step(batch)
    """

    def __init__(self, loss_function, trainable, optimizer, state_variables):
        self.loss_function = loss_function
        self.trainable = list(trainable)
        self.optimizer = optimizer
        trainable_ids = {id(variable) for variable in self.trainable}
        self.others = [variable for variable in _unique(state_variables) if id(variable) not in trainable_ids]
        self.backend = keras.config.backend()
        self._compiled = None

    def __call__(self, batch):
        if self._compiled is None:
            self._compiled = getattr(self, f"_compile_{self.backend}")()
        logs = self._compiled(batch)
        return {name: float(ops.convert_to_numpy(value)) for name, value in logs.items()}

    def _apply(self, gradients):
        gradients = [ops.zeros_like(v.value) if g is None else g for g, v in zip(gradients, self.trainable)]
        self.optimizer.apply(gradients, self.trainable)

    def _compile_tensorflow(self):
        import tensorflow as tf

        @tf.function(reduce_retracing=True)
        def step(batch):
            with tf.GradientTape() as tape:
                loss, logs = self.loss_function(batch)
            self._apply(tape.gradient(loss, [variable.value for variable in self.trainable]))
            return logs

        return step

    def _compile_torch(self):
        import torch

        def step(batch):
            loss, logs = self.loss_function(batch)
            gradients = torch.autograd.grad(loss, [variable.value for variable in self.trainable], allow_unused=True)
            with torch.no_grad():
                self._apply(gradients)
            return {name: value.detach() for name, value in logs.items()}

        return step

    def _compile_jax(self):
        import jax

        # The optimizer's update runs inside the same jitted program as the gradient: run eagerly, JAX would
        # compile each of its operations on its own, for every variable shape (hundreds of small programs).
        if not self.optimizer.built:
            self.optimizer.build(self.trainable)

        def pure(trainable_values, other_values, batch):
            mapping = itertools.chain(zip(self.trainable, trainable_values), zip(self.others, other_values))
            with keras.StatelessScope(state_mapping=mapping) as scope:
                loss, logs = self.loss_function(batch)
            updated = [scope.get_current_value(variable) for variable in self.others]
            updated = [value if value is not None else old for value, old in zip(updated, other_values)]
            return loss, (logs, updated)

        gradient_function = jax.value_and_grad(pure, has_aux=True)

        @jax.jit
        def update(trainable_values, other_values, optimizer_values, batch):
            (_, (logs, updated)), gradients = gradient_function(trainable_values, other_values, batch)
            trainable_values, optimizer_values = self.optimizer.stateless_apply(
                optimizer_values, gradients, trainable_values
            )
            return logs, updated, trainable_values, optimizer_values

        def step(batch):
            logs, updated, trainable_values, optimizer_values = update(
                [variable.value for variable in self.trainable],
                [variable.value for variable in self.others],
                [variable.value for variable in self.optimizer.variables],
                batch,
            )
            for variables, values in ((self.others, updated), (self.trainable, trainable_values)):
                for variable, value in zip(variables, values):
                    variable.assign(value)
            for variable, value in zip(self.optimizer.variables, optimizer_values):
                variable.assign(value)
            return logs

        return step


class AdversarialTrainer:
    """Alternating discriminator and generator steps for a :class:`~musickit.models.music_vae.MusicVAE`.

    Args:
        model: the VAE (the generator).
        discriminator: a :class:`~musickit.models.sequence_discriminator.MultiScaleDiscriminator`.
        generator_optimizer, discriminator_optimizer: Keras optimizers (default Adam 1e-4 and 4e-4).
        adversarial_weight: float, weight of the generator's hinge term (small: the likelihood leads).
        feature_matching_weight: float, weight of feature matching.
        gumbel_temperature: float, temperature of the Gumbel-softmax samples.
        seed: optional int seed of the Gumbel noise.
    """

    def __init__(
        self,
        model,
        discriminator,
        generator_optimizer=None,
        discriminator_optimizer=None,
        adversarial_weight=0.05,
        feature_matching_weight=0.1,
        gumbel_temperature=1.0,
        seed=None,
    ):
        self.model = model
        self.discriminator = discriminator
        self.generator_optimizer = generator_optimizer or keras.optimizers.Adam(1e-4)
        self.discriminator_optimizer = discriminator_optimizer or keras.optimizers.Adam(4e-4, beta_1=0.5)
        self.adversarial_weight = float(adversarial_weight)
        self.feature_matching_weight = float(feature_matching_weight)
        self.gumbel_temperature = float(gumbel_temperature)
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.reconstruction_loss = SequenceCrossEntropy()
        if not model.built:
            model.build()
        if not discriminator.built:
            discriminator.build((None, None, model.vocabulary_size))
        self.generator_optimizer.build(model.trainable_variables)
        self.discriminator_optimizer.build(discriminator.trainable_variables)
        self._discriminator_step = self._generator_step = None

    def _state(self):
        return list(self.model.variables) + list(self.discriminator.variables) + [self.seed_generator.state]

    def _fake(self, segment_ids, training):
        logits, kl_cost = self.model.reconstruction_terms(segment_ids, training=training)
        soft = gumbel_softmax(logits, self.gumbel_temperature, self.seed_generator)
        return logits, kl_cost, soft

    def discriminator_loss(self, segment_ids):
        """``(loss, logs)`` of the discriminator phase (the generator's outputs carry no gradient)."""
        mask = ops.not_equal(segment_ids, self.model.padding_id)
        _, _, fake = self._fake(segment_ids, training=False)
        real = ops.one_hot(ops.cast(segment_ids, "int32"), self.model.vocabulary_size)
        real_logits, _ = self.discriminator(real, mask, training=True)
        fake_logits, _ = self.discriminator(ops.stop_gradient(fake), mask, training=True)
        loss = sum(discriminator_hinge_loss(r, f) for r, f in zip(real_logits, fake_logits)) / len(real_logits)
        return loss, {"discriminator_loss": loss}

    def generator_loss(self, segment_ids):
        """``(loss, logs)`` of the generator phase: VAE loss + adversarial + feature matching."""
        mask = ops.not_equal(segment_ids, self.model.padding_id)
        logits, kl_cost, fake = self._fake(segment_ids, training=True)
        reconstruction = self.reconstruction_loss(segment_ids, logits, sample_weight=ops.cast(mask, "float32"))
        real = ops.one_hot(ops.cast(segment_ids, "int32"), self.model.vocabulary_size)
        _, real_features = self.discriminator(real, mask, training=False)
        fake_logits, fake_features = self.discriminator(fake, mask, training=False)
        adversarial = sum(generator_hinge_loss(logit) for logit in fake_logits) / len(fake_logits)
        matching = feature_matching_loss(real_features, fake_features)
        loss = (
            reconstruction + kl_cost + self.adversarial_weight * adversarial + self.feature_matching_weight * matching
        )
        return loss, {"generator_loss": loss, "reconstruction": reconstruction, "adversarial": adversarial}

    def discriminator_step(self, segment_ids):
        """One discriminator update; only the discriminator's weights change."""
        if self._discriminator_step is None:
            self._discriminator_step = GradientStep(
                self.discriminator_loss,
                self.discriminator.trainable_variables,
                self.discriminator_optimizer,
                self._state(),
            )
        return self._discriminator_step(ops.convert_to_tensor(segment_ids, "int32"))

    def generator_step(self, segment_ids):
        """One generator (VAE) update; only the VAE's weights change."""
        if self._generator_step is None:
            self._generator_step = GradientStep(
                self.generator_loss, self.model.trainable_variables, self.generator_optimizer, self._state()
            )
        return self._generator_step(ops.convert_to_tensor(segment_ids, "int32"))

    def train_step(self, segment_ids):
        """A discriminator step then a generator step on one batch; their logs together."""
        return {**self.discriminator_step(segment_ids), **self.generator_step(segment_ids)}
