"""Draw a classifier backbone's feature maps of a photo as a PNG grid
(``tools/visualization/vis_features.py``, ``mbv3-vis-features``).

    python -m mbv3.cli.vis_features CONFIG CHECKPOINT IMAGE OUT.png
        [--layers 1 3 8 12] [--input-size N] [--size 1200 800]
"""
from mbv3.apis.model import init_model
from mbv3.visualization import (default_layers, extract_layers, load_image,
                                plot_feature_maps)
from ._command import command, model_image_parser


@command
def main(argv=None) -> str:
    """Parse ``argv`` and write the feature-map grid. Returns the PNG
    path."""
    parser = model_image_parser('Backbone feature maps of an image: per '
                                'layer the mean activation and the '
                                'strongest channels', [1200, 800])
    parser.add_argument('--layers', type=int, nargs='+',
                        help='backbone layers (default: the last layer at '
                        'each stride)')
    parser.add_argument('--channels', type=int, default=4,
                        help='strongest channels per layer (default 4)')
    args = parser.parse_args(argv)
    model = init_model(args.config, args.checkpoint, device=args.device)
    inputs, image = load_image(model, args.image, args.input_size)
    layers = args.layers or default_layers(model.backbone)
    features = extract_layers(model.backbone, inputs, layers)
    features = {i: f.cpu() for i, f in features.items()}
    out = plot_feature_maps(image, features, args.out,
                            size=tuple(args.size),
                            num_channels=args.channels)
    print(f'wrote {out}')
    return out


if __name__ == '__main__':
    from mbv3.cli import run
    run('vis_features')
