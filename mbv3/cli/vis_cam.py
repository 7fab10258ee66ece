"""Grad-CAM overlay of a classifier's prediction on an image, as a PNG
(``tools/visualization/vis_cam.py``, ``mbv3-vis-cam``).

    python -m mbv3.cli.vis_cam CONFIG CHECKPOINT IMAGE OUT.png [--layer -1]
        [--target CLASS] [--input-size N] [--size 800 400]
"""
from mbv3.apis.model import init_model
from mbv3.visualization import grad_cam, load_image, plot_cam
from ._command import command, model_image_parser


@command
def main(argv=None) -> str:
    """Parse ``argv`` and write the Grad-CAM overlay. Returns the PNG
    path."""
    parser = model_image_parser("Grad-CAM overlay of a classifier's "
                                'prediction', [800, 400])
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


if __name__ == '__main__':
    from mbv3.cli import run
    run('vis_cam')
