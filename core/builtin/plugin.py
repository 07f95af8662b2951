"""Core's parts, registered through the same hooks as any plugin. Torch-free: targets are lazy strings."""

from __future__ import annotations

from jepakit import hookimpl
from jepakit.builtin.config import (
    AttentiveProbeConfig,
    DigitsConfig,
    DistanceConfig,
    EMAConfig,
    FashionMNISTConfig,
    GlyphsConfig,
    ImageFolderConfig,
    KNNConfig,
    LinearProbeConfig,
    PredictorConfig,
    SIGRegConfig,
    SmoothL1Config,
    StopGradConfig,
    TensorBoardConfig,
    VICRegConfig,
    ViTConfig,
)
from jepakit.builtin.shard_config import HFDatasetConfig, WebDatasetConfig
from jepakit.hookspecs import RegisterFn


@hookimpl
def jepa_register_encoders(register: RegisterFn) -> None:
    register(
        "vit",
        "jepakit.builtin.models:VisionTransformer",
        config=ViTConfig,
        modality="image",
        layout="grid2d",
        summary="ViT on a 2-D patch grid: sin-cos positions, SDPA blocks, context tokens gathered first",
    )


@hookimpl
def jepa_register_predictors(register: RegisterFn) -> None:
    register(
        "vit-predictor",
        "jepakit.builtin.models:TransformerPredictor",
        config=PredictorConfig,
        summary="narrow transformer predictor: shared mask token + sin-cos positions of the targets",
    )


@hookimpl
def jepa_register_targets(register: RegisterFn) -> None:
    register(
        "ema",
        "jepakit.builtin.targets:EMATarget",
        config=EMAConfig,
        summary="EMA teacher with a linear momentum ramp; layer-normed full-input targets",
    )
    register(
        "stopgrad",
        "jepakit.builtin.targets:StopGradTarget",
        config=StopGradConfig,
        summary="no teacher: the context encoder's own full-input features under stop-gradient",
    )


@hookimpl
def jepa_register_losses(register: RegisterFn) -> None:
    register("smooth-l1", "jepakit.builtin.losses:SmoothL1", config=SmoothL1Config, summary="smooth-L1 (I-JEPA's code)")
    register("l1", "jepakit.builtin.losses:L1", config=DistanceConfig, summary="mean absolute error (V-JEPA)")
    register("l2", "jepakit.builtin.losses:L2", config=DistanceConfig, summary="mean squared error (I-JEPA's paper)")
    register(
        "vicreg",
        "jepakit.builtin.losses:VICReg",
        config=VICRegConfig,
        summary="VICReg variance + covariance on pooled context features (anti-collapse)",
    )
    register(
        "sigreg",
        "jepakit.builtin.losses:SIGReg",
        config=SIGRegConfig,
        summary="LeJEPA's SIGReg: Epps-Pulley isotropic-Gaussian test on random projections of pooled features",
    )


@hookimpl
def jepa_register_datasets(register: RegisterFn) -> None:
    register(
        "digits",
        "jepakit.builtin.data:digits",
        config=DigitsConfig,
        modality="image",
        summary="scikit-learn's 1,797 8x8 handwritten digits, upsampled; fixed 1,400/397 split",
    )
    register(
        "glyphs",
        "jepakit.builtin.data:glyphs",
        config=GlyphsConfig,
        modality="image",
        summary="letters rendered offline from matplotlib's fonts with affine jitter and clutter",
    )
    register(
        "image-folder",
        "jepakit.builtin.data:image_folder",
        config=ImageFolderConfig,
        modality="image",
        summary="your own images, streamed: root/<class>/*.png|jpg (split by class) or any folder (unlabelled)",
    )
    register(
        "fashion-mnist",
        "jepakit.builtin.fashion_mnist:fashion_mnist",
        config=FashionMNISTConfig,
        modality="image",
        summary="Fashion-MNIST (apt package dataset-fashion-mnist): 60,000/10,000 28x28 grey, 10 classes",
    )
    register(
        "webdataset",
        "jepakit.builtin.wds_data:webdataset",
        config=WebDatasetConfig,
        modality="image-audio",
        summary="WebDataset tar shards read by index (offsets cached): images or audio, labels optional",
    )
    register(
        "hf-dataset",
        "jepakit.builtin.hf_data:hf_dataset",
        config=HFDatasetConfig,
        modality="image-audio",
        summary="local Hugging Face data: Parquet (streaming row groups or cached), Arrow, imagefolder",
    )


@hookimpl
def jepa_register_heads(register: RegisterFn) -> None:
    register(
        "linear-probe",
        "jepakit.builtin.heads:LinearProbe",
        config=LinearProbeConfig,
        summary="standardize + logistic regression on frozen features",
    )
    register("knn", "jepakit.builtin.heads:KNNProbe", config=KNNConfig, summary="cosine k-NN on frozen features")
    register(
        "attentive-probe",
        "jepakit.builtin.heads:AttentiveProbe",
        config=AttentiveProbeConfig,
        summary="V-JEPA's frozen probe: a learned query cross-attends over the tokens, then a linear classifier",
    )


@hookimpl
def jepa_register_loggers(register: RegisterFn) -> None:
    register(
        "tensorboard",
        "jepakit.builtin.loggers:TensorBoardLogger",
        config=TensorBoardConfig,
        summary="scalars to RUN_DIR/tensorboard (needs the tensorboard package)",
    )


@hookimpl
def jepa_register_methods(register: RegisterFn) -> None:
    register(
        "jepa",
        "jepakit.engine.jepa:JEPAMethod",
        summary="masked latent prediction: context encoder + predictor regress a target's features of hidden tokens",
    )
