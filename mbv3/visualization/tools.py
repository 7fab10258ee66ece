"""What the scripts in ``tools/visualization/`` do, as functions taking
``argv`` (so they can be tested and imported)."""
import argparse

SIZE_HELP = 'width and height of the PNG, in pixels'


def _model_parser(description: str, size) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument('config', help='classifier config file')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('image', help='image file')
    parser.add_argument('out', help='output .png')
    parser.add_argument('--input-size', type=int, default=None,
                        help='the image is resized to this square, in '
                        "pixels (default: the config's test size)")
    parser.add_argument('--size', type=int, nargs=2, default=size,
                        metavar=('W', 'H'), help=SIZE_HELP)
    parser.add_argument('--device', default='cpu', help="e.g. 'cuda:0'")
    return parser


def vis_features(argv=None) -> str:
    """``tools/visualization/vis_features.py``. Returns the PNG path."""
    from mbv3.apis import init_model
    from .features import default_layers, extract_layers, plot_feature_maps
    from .image import load_image
    parser = _model_parser('Backbone feature maps of an image: per layer '
                           'the mean activation and the strongest channels',
                           [1200, 800])
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
    out = plot_feature_maps(image, features, model.backbone, args.out,
                            size=tuple(args.size),
                            num_channels=args.channels)
    print(f'wrote {out}')
    return out


def vis_cam(argv=None) -> str:
    """``tools/visualization/vis_cam.py``. Returns the PNG path."""
    from mbv3.apis import init_model
    from .cam import grad_cam, plot_cam
    from .image import load_image
    parser = _model_parser("Grad-CAM overlay of a classifier's prediction",
                           [800, 400])
    parser.add_argument('--layer', type=int, default=-1,
                        help='backbone layer to explain (default -1, the '
                        'last 1x1 conv)')
    parser.add_argument('--target', type=int,
                        help='class index to explain (default: predicted)')
    args = parser.parse_args(argv)
    model = init_model(args.config, args.checkpoint, device=args.device)
    inputs, image = load_image(model, args.image, args.input_size)
    cam, target, score = grad_cam(model, inputs, layer=args.layer,
                                  target=args.target)
    classes = model.dataset_meta.get('classes')
    name = classes[target] if classes else str(target)
    out = plot_cam(image, cam, args.out, size=tuple(args.size),
                   title=f'Grad-CAM layer {args.layer}: {name} '
                   f'({score:.2f})')
    print(f'class {name} score {score:.4f}; wrote {out}')
    return out


def vis_curves(argv=None) -> str:
    """``tools/visualization/vis_curves.py``. Returns the PNG path."""
    from .curves import plot_curves
    parser = argparse.ArgumentParser(
        description='Loss and validation curves of a training run')
    parser.add_argument('scalars', help='work dir of tools/train.py (all '
                        'its runs) or a vis_data/scalars.json file')
    parser.add_argument('out', help='output .png')
    parser.add_argument('--size', type=int, nargs=2, default=[1000, 400],
                        metavar=('W', 'H'), help=SIZE_HELP)
    parser.add_argument('--title', default='', help='figure title')
    args = parser.parse_args(argv)
    out = plot_curves(args.scalars, args.out, size=tuple(args.size),
                      title=args.title)
    print(f'wrote {out}')
    return out
