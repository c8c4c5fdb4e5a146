"""A copy head: a learned pointer over the tokens already written, mixed into the next-token distribution.

A decoder that should bring a section back (the returning A of ``ABA``) has
to learn an induction head: find where the current context occurred before
and predict what followed it. A small decoder trained for a few hundred steps
does not form one (``benchmarks/RESULTS.md``, issue 17). This layer builds the
"what followed it" half in: an attention from each position ``t`` over the
earlier positions ``j < t``, whose weights are spread on the token that came
after ``j``, and a learned gate that mixes that copy distribution with the
decoder's own:

    p(next | t) = (1 - g_t) softmax(logits_t) + g_t sum_j a_tj onehot(x_{j+1})

The query and key projections start as the identity, so the attention starts
as a neural cache (Grave et al. 2017: positions whose final hidden states are
alike are alike in context). Optional ``relations`` mark, one feature each, the
positions a query has a reason to copy from (for music in sections: an earlier
statement of the same section, the same time in it, the same token there);
each relation's score gets a learned bonus. The gate sees the hidden state, the
best match's score and the attention's share on each relation, and starts
nearly closed: a copy that does not pay (a new section copying the one before)
teaches it to stay shut.

Example:

>>> import numpy as np
>>> head = CopyHead(4)
>>> hidden = np.eye(4, dtype="float32")[None, [0, 1, 0]]         # position 2 looks like position 0
>>> next_ids = np.array([[2, 3, 0]])                             # ... and position 0 was followed by token 2
>>> allowed = np.tril(np.ones((3, 3), bool), -1)[None]           # j < t
>>> log_probabilities = head(np.zeros((1, 3, 5), "float32"), hidden, head.keys(hidden), next_ids, allowed)
>>> probabilities = np.exp(keras.ops.convert_to_numpy(log_probabilities))
>>> bool(np.allclose(probabilities.sum(-1), 1.0, atol=1e-4)), bool(probabilities[0, 2, 2] > probabilities[0, 2, 3])
(True, True)

References:
    - [See et al., 2017, Get To The Point](https://arxiv.org/abs/1704.04368) (pointer-generator)
    - [Grave et al., 2017, Improving Neural Language Models with a Continuous Cache](https://arxiv.org/abs/1612.04426)
    - [Olsson et al., 2022, In-context Learning and Induction Heads](https://arxiv.org/abs/2209.11895)
"""

import keras
from keras import ops

#: Added inside the logarithms so that a closed gate or an empty copy distribution stays finite.
EPSILON = 1e-6


@keras.saving.register_keras_serializable(package="musickit")
class CopyHead(keras.layers.Layer):
    """Pointer over earlier positions, gated into the decoder's next-token distribution.

    Args:
        key_dim: int, width of the queries and keys; when it equals the hidden
            width the projections start as the identity.
        gate_bias: float, the gate's initial bias (``sigmoid(-3)``: 5% copying).
        num_relations: int, the relation features ``relations`` holds.
        relation_bonus: float, the initial score bonus of each relation.
        **kwargs: passed to ``keras.layers.Layer``.

    Call arguments:
        logits: ``(batch, queries, vocabulary)`` the decoder's logits.
        hidden: ``(batch, queries, hidden_dim)`` the decoder's final (normalised) states.
        keys: ``(batch, positions, key_dim)`` :meth:`keys` of every earlier position.
        next_ids: ``(batch, positions)`` int, the token that followed each position.
        allowed: ``(batch, queries, positions)`` bool, which positions each query may copy from.
        relations: optional ``(batch, queries, positions, num_relations)`` 0/1 floats, the positions each query
            has a reason to copy from, by relation.

    Returns:
        ``(batch, queries, vocabulary)`` float32 log-probabilities of the mixture
        (usable as logits: their softmax is the mixture itself).
    """

    def __init__(self, key_dim, gate_bias=-3.0, num_relations=0, relation_bonus=4.0, **kwargs):
        super().__init__(**kwargs)
        self.key_dim = int(key_dim)
        self.gate_bias = float(gate_bias)
        self.num_relations = int(num_relations)
        self.relation_bonus = float(relation_bonus)

    def build(self, hidden_shape):
        hidden_dim = hidden_shape[-1]
        square = hidden_dim == self.key_dim
        initializer = keras.initializers.Identity() if square else "glorot_uniform"
        policy = self.dtype_policy
        self.query_projection = keras.layers.Dense(
            self.key_dim, use_bias=False, kernel_initializer=initializer, dtype=policy, name="query"
        )
        self.key_projection = keras.layers.Dense(
            self.key_dim, use_bias=False, kernel_initializer=initializer, dtype=policy, name="key"
        )
        self.gate = keras.layers.Dense(
            1, bias_initializer=keras.initializers.Constant(self.gate_bias), dtype=policy, name="gate"
        )
        self.bonus = self.add_weight(
            shape=(self.num_relations,),
            initializer=keras.initializers.Constant(self.relation_bonus),
            name="relation_bonus",
        )
        self.query_projection.build(hidden_shape)
        self.key_projection.build(hidden_shape)
        self.gate.build((*hidden_shape[:-1], hidden_dim + 1 + self.num_relations))
        self.built = True

    def keys(self, hidden):
        """``(batch, positions, key_dim)`` keys of ``hidden`` (what a cache stores per position)."""
        if not self.built:
            self.build(tuple(hidden.shape))
        return self.key_projection(hidden)

    def call(self, logits, hidden, keys, next_ids, allowed, relations=None):
        queries = self.query_projection(hidden)
        scores = ops.einsum("bqd,bkd->bqk", ops.cast(queries, "float32"), ops.cast(keys, "float32"))
        scores = scores / float(self.key_dim) ** 0.5
        allowed = ops.cast(allowed, "bool")
        if self.num_relations:
            relations = ops.cast(relations, "float32") * ops.cast(allowed, "float32")[..., None]
            scores = scores + ops.einsum("bqkr,r->bqk", relations, ops.cast(self.bonus, "float32"))
        any_allowed = ops.any(allowed, axis=-1, keepdims=True)
        scores = ops.where(allowed, scores, -1e9)
        attention = ops.softmax(scores, axis=-1)
        vocabulary_size = ops.shape(logits)[-1]
        copy = ops.einsum("bqk,bkv->bqv", attention, ops.one_hot(ops.cast(next_ids, "int32"), vocabulary_size))
        best = ops.where(any_allowed, ops.max(scores, axis=-1, keepdims=True), 0.0)
        gate_inputs = [ops.cast(hidden, "float32"), best]
        if self.num_relations:
            gate_inputs.append(ops.einsum("bqk,bqkr->bqr", attention, relations))  # attention's share on each
        gate_inputs = ops.concatenate(gate_inputs, axis=-1)
        gate = ops.sigmoid(ops.cast(self.gate(ops.cast(gate_inputs, self.compute_dtype)), "float32"))
        gate = gate * ops.cast(any_allowed, "float32")  # nothing to copy from: the decoder alone
        generated = ops.log_softmax(ops.cast(logits, "float32"), axis=-1) + ops.log(1.0 - gate + EPSILON)
        copied = ops.log(copy + EPSILON) + ops.log(gate + EPSILON)
        return ops.logaddexp(generated, copied)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "key_dim": self.key_dim,
                "gate_bias": self.gate_bias,
                "num_relations": self.num_relations,
                "relation_bonus": self.relation_bonus,
            }
        )
        return config
