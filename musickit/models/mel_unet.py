"""The mel-diffusion denoiser: a U-Net over a noisy log-mel window, conditioned on note tokens.

Inputs (a dict): ``noisy_mel`` ``(batch, num_mels, frames, 1)`` in about
[-1, 1] plus noise, ``noise_level`` ``(batch, 1)`` in [0, 1], and
``note_tokens`` ``(batch, tokens, 177)`` (:mod:`musickit.data.mel_windows`).
Output: the v-prediction ``(batch, num_mels, frames, 1)``.

The notes enter twice. A small transformer encoder (a Dense projection, sine
positions and keras_hub ``TransformerEncoder`` blocks) gives the
cross-attention *which* notes a window holds; with ``sketch_channels``, a
:class:`~musickit.layers.unet.NoteSketch` lays the window's tokens out frame
by frame on the mel axis, stacked with the noisy mel as the first
convolution's input, so the U-Net also sees *where* each note sounds and is
struck (cross-attention alone left the onsets smeared after a CPU run's 600
steps). The U-Net has
``len(widths)`` resolutions, each ``blocks_per_level`` residual blocks
(group norm, swish, the sinusoidal noise-level embedding added), stride-2
convolutions down and nearest-neighbour upsampling up, self-attention at the
resolutions from ``attention_from_level`` down, cross-attention to the notes
at every resolution from ``cross_attention_from_level`` down, and a
zero-initialised output convolution (the untrained model predicts 0). The
middle blocks count as level ``len(widths)``: a ``*_from_level`` of
``len(widths)`` puts that attention in the middle only.

Example:

>>> import numpy as np
>>> model = MelUNet(num_mels=16, frames=16, tokens=6, widths=(8, 16), groups=4, encoder_dim=16,
...                 sketch_channels=2, frames_per_token=4, context_tokens=1)
>>> inputs = {"noisy_mel": np.zeros((2, 16, 16, 1), "float32"), "noise_level": np.ones((2, 1), "float32"),
...           "note_tokens": np.zeros((2, 6, 177), "float32")}
>>> output = keras.ops.convert_to_numpy(model(inputs))
>>> tuple(output.shape), float(np.abs(output).max())
((2, 16, 16, 1), 0.0)
"""

import keras
import keras_hub

from musickit.layers.unet import NoteSketch, ResidualBlock, SinusoidalEmbedding, SpatialAttention

TOKEN_FEATURES = 177  # musickit.data.mel_windows.TOKEN_FEATURES: 88 keys sounding, 88 struck, "no notes given"


PRESETS = {
    # what tests and --smoke use: two levels, attention in the middle only. On JAX compiling is nearly all of a
    # smoke run, and it grows with the layers (and their variables, each with its own optimizer update)
    "tiny": dict(
        widths=(8, 16),
        blocks_per_level=1,
        groups=4,
        encoder_dim=16,
        encoder_layers=1,
        num_heads=2,
        attention_from_level=2,
        cross_attention_from_level=2,
        sketch_channels=2,
        token_pool=4,
    ),
    # the CPU recipe's: about 0.5 M parameters on 64 x 128 windows
    "small": dict(
        widths=(16, 32, 48),
        blocks_per_level=1,
        groups=8,
        encoder_dim=48,
        encoder_layers=1,
        num_heads=4,
        sketch_channels=4,
        token_pool=4,
    ),
    # a GPU run's
    "base": dict(
        widths=(64, 128, 192, 256),
        blocks_per_level=2,
        groups=16,
        encoder_dim=256,
        encoder_layers=3,
        num_heads=8,
        sketch_channels=8,
        token_pool=4,
    ),
}


@keras.saving.register_keras_serializable(package="musickit")
class MelUNet(keras.Model):
    """A conditioned U-Net denoiser for log-mel windows (see the module docstring).

    Args:
        num_mels, frames: the window's height and width (divisible by ``2 ** (len(widths) - 1)``).
        tokens: note tokens per window.
        widths: channels at each resolution, top first.
        blocks_per_level: residual blocks per resolution on the way down (one more on the way up).
        groups: group normalisation groups.
        encoder_dim, encoder_layers, num_heads: the note encoder's width, depth and heads
            (the attention blocks use ``num_heads`` too).
        attention_from_level: self-attention at this resolution index and below (default: the lowest);
            ``len(widths)``: in the middle only.
        cross_attention_from_level: cross-attention to the notes from this index down (default: 1, or 0
            for a one-level U-Net); ``len(widths)``: in the middle only.
        embedding_dim: noise-level embedding width (default ``4 * widths[0]``).
        sketch_channels: images of the :class:`~musickit.layers.unet.NoteSketch` stacked with the noisy mel
            (0: the notes reach the U-Net through cross-attention only).
        frames_per_token, context_tokens: the tokens' layout (``tokens = frames / frames_per_token +
            2 * context_tokens``), which the sketch needs.
        token_pool: the note encoder reads the tokens max-pooled over this many (the sketch reads every
            one): a token a frame places the sketch's onsets, and four times fewer tokens for the
            cross-attention cost a quarter less time per step at 144 tokens on a CPU.
    """

    def __init__(
        self,
        num_mels=64,
        frames=128,
        tokens=40,
        widths=(32, 48, 64),
        blocks_per_level=1,
        groups=8,
        encoder_dim=64,
        encoder_layers=1,
        num_heads=4,
        attention_from_level=None,
        cross_attention_from_level=None,
        embedding_dim=None,
        sketch_channels=0,
        frames_per_token=1,
        context_tokens=0,
        token_pool=1,
        **kwargs,
    ):
        if sketch_channels and tokens != frames // frames_per_token + 2 * context_tokens:
            raise ValueError(
                f"tokens {tokens} is not frames / frames_per_token + 2 * context_tokens "
                f"({frames} / {frames_per_token} + 2 * {context_tokens}): the note sketch needs the layout"
            )
        widths = tuple(int(width) for width in widths)
        levels = len(widths)
        factor = 2 ** (levels - 1)
        if num_mels % factor or frames % factor:
            raise ValueError(f"num_mels {num_mels} and frames {frames} must be divisible by {factor}")
        attention_level = levels - 1 if attention_from_level is None else attention_from_level
        cross_level = min(1, levels - 1) if cross_attention_from_level is None else cross_attention_from_level
        embedding_width = embedding_dim or 4 * widths[0]

        noisy_mel = keras.Input((num_mels, frames, 1), name="noisy_mel")
        noise_level = keras.Input((1,), name="noise_level")
        note_tokens = keras.Input((tokens, TOKEN_FEATURES), name="note_tokens")

        embedding = SinusoidalEmbedding(widths[0], name="noise_embedding")(noise_level)
        embedding = keras.layers.Dense(embedding_width, activation="silu", name="noise_dense_1")(embedding)
        embedding = keras.layers.Dense(embedding_width, name="noise_dense_2")(embedding)

        pooled = note_tokens
        if token_pool > 1:
            pooled = keras.layers.MaxPooling1D(token_pool, padding="same", name="token_pool")(note_tokens)
        context = keras.layers.Dense(encoder_dim, name="token_projection")(pooled)
        context = context + keras_hub.layers.SinePositionEncoding(name="token_positions")(context)
        for index in range(encoder_layers):
            context = keras_hub.layers.TransformerEncoder(
                2 * encoder_dim, num_heads, activation="gelu", normalize_first=True, name=f"note_encoder_{index}"
            )(context)
        context = keras.layers.LayerNormalization(name="note_encoder_norm")(context)

        def attend(features, level, name):
            width = features.shape[-1]
            key_dim = max(width // num_heads, 8)
            if level >= attention_level:
                features = SpatialAttention(num_heads, key_dim, groups, name=f"{name}_self_attention")(features)
            if level >= cross_level:
                features = SpatialAttention(num_heads, key_dim, groups, name=f"{name}_cross_attention")(
                    features, context
                )
            return features

        image = noisy_mel
        if sketch_channels:
            sketch = NoteSketch(num_mels, sketch_channels, frames_per_token, context_tokens, name="note_sketch")
            image = keras.layers.Concatenate(name="mel_and_sketch")([noisy_mel, sketch(note_tokens)])
        features = keras.layers.Conv2D(widths[0], 3, padding="same", name="input_convolution")(image)
        skips = [features]
        for level, width in enumerate(widths):
            for block in range(blocks_per_level):
                features = ResidualBlock(width, groups, name=f"down_{level}_{block}")(features, embedding)
                features = attend(features, level, f"down_{level}_{block}")
                skips.append(features)
            if level < levels - 1:
                features = keras.layers.Conv2D(width, 3, strides=2, padding="same", name=f"downsample_{level}")(
                    features
                )
                skips.append(features)
        features = ResidualBlock(widths[-1], groups, name="middle_0")(features, embedding)
        features = attend(features, levels, "middle")  # the middle counts as one level below the lowest
        features = ResidualBlock(widths[-1], groups, name="middle_1")(features, embedding)
        for level in reversed(range(levels)):
            for block in range(blocks_per_level + 1):
                features = keras.layers.Concatenate(name=f"up_{level}_{block}_skip")([features, skips.pop()])
                features = ResidualBlock(widths[level], groups, name=f"up_{level}_{block}")(features, embedding)
                features = attend(features, level, f"up_{level}_{block}")
            if level > 0:
                features = keras.layers.UpSampling2D(2, name=f"upsample_{level}")(features)
                features = keras.layers.Conv2D(widths[level], 3, padding="same", name=f"upsample_{level}_conv")(
                    features
                )
        features = keras.layers.GroupNormalization(groups, name="output_norm")(features)
        features = keras.layers.Activation("silu", name="output_activation")(features)
        output = keras.layers.Conv2D(
            1, 3, padding="same", kernel_initializer="zeros", bias_initializer="zeros", name="output_convolution"
        )(features)
        super().__init__(
            inputs={"noisy_mel": noisy_mel, "noise_level": noise_level, "note_tokens": note_tokens},
            outputs=output,
            **kwargs,
        )
        self.num_mels, self.frames, self.tokens = num_mels, frames, tokens
        self.widths, self.blocks_per_level, self.groups = widths, blocks_per_level, groups
        self.encoder_dim, self.encoder_layers, self.num_heads = encoder_dim, encoder_layers, num_heads
        self.attention_from_level, self.cross_attention_from_level = attention_from_level, cross_attention_from_level
        self.embedding_dim = embedding_dim
        self.sketch_channels, self.frames_per_token = sketch_channels, frames_per_token
        self.context_tokens, self.token_pool = context_tokens, token_pool

    @classmethod
    def from_preset(cls, preset, **changes):
        """A model from :data:`PRESETS` (``tiny``, ``small``, ``base``) with ``changes``."""
        if preset not in PRESETS:
            raise ValueError(f"unknown preset {preset!r}; choose one of {', '.join(PRESETS)}")
        return cls(**{**PRESETS[preset], **changes})

    def get_config(self):
        return {
            "name": self.name,
            "trainable": self.trainable,
            "num_mels": self.num_mels,
            "frames": self.frames,
            "tokens": self.tokens,
            "widths": list(self.widths),
            "blocks_per_level": self.blocks_per_level,
            "groups": self.groups,
            "encoder_dim": self.encoder_dim,
            "encoder_layers": self.encoder_layers,
            "num_heads": self.num_heads,
            "attention_from_level": self.attention_from_level,
            "cross_attention_from_level": self.cross_attention_from_level,
            "embedding_dim": self.embedding_dim,
            "sketch_channels": self.sketch_channels,
            "frames_per_token": self.frames_per_token,
            "context_tokens": self.context_tokens,
            "token_pool": self.token_pool,
        }

    @classmethod
    def from_config(cls, config):
        return cls(**config)
