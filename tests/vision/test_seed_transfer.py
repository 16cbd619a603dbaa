"""The transfer-learning seed program (/work/shared/seeds/003_...) on ember.

The program is the seed's, run unchanged in its flow through ``python -m ember.run``
(``import torch`` / ``torchvision`` resolve to ember), with three changes that keep it
small and runnable here: a tiny generated ImageFolder (2 classes x 8 images, 32x32, PNG
and JPEG), 32-pixel crops instead of 224 and 1 epoch; ``pretrained=False`` since no
weights can be downloaded; the seed's missing ``import os`` / ``from PIL import Image``
added and its evaluation over the non-existent ``dataloaders['test']`` pointed at 'val'.
"""
import os
import subprocess
import sys
import textwrap

import numpy as np
from PIL import Image

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

PROGRAM = """
import os
import sys

import torch
import torch.nn as nn
import torch.optim as optim
from PIL import Image
from torchvision import models, datasets, transforms

torch.manual_seed(0)
model = models.resnet18(pretrained=False)
num_features = model.fc.in_features
model.fc = nn.Linear(num_features, 2)

data_transforms = {
    'train': transforms.Compose([
        transforms.RandomResizedCrop(32),
        transforms.RandomHorizontalFlip(),
        transforms.ToTensor(),
        transforms.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])
    ]),
    'val': transforms.Compose([
        transforms.Resize(36),
        transforms.CenterCrop(32),
        transforms.ToTensor(),
        transforms.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])
    ]),
}

data_dir = sys.argv[1]
image_datasets = {x: datasets.ImageFolder(os.path.join(data_dir, x), data_transforms[x])
                  for x in ['train', 'val']}
dataloaders = {x: torch.utils.data.DataLoader(image_datasets[x], batch_size=4, shuffle=True,
                                              num_workers=2) for x in ['train', 'val']}
dataset_sizes = {x: len(image_datasets[x]) for x in ['train', 'val']}

criterion = nn.CrossEntropyLoss()
optimizer = optim.Adam(model.parameters(), lr=0.001)

device = torch.device("cuda:0" if torch.cuda.is_available() else "cpu")
model.to(device)
num_epochs = 1
for epoch in range(num_epochs):
    for phase in ['train', 'val']:
        if phase == 'train':
            model.train(True)
        else:
            model.train(False)

        running_loss = 0.0
        running_corrects = 0

        for inputs, labels in dataloaders[phase]:
            inputs = inputs.to(device)
            labels = labels.to(device)

            optimizer.zero_grad()

            with torch.set_grad_enabled(phase == 'train'):
                outputs = model(inputs)
                _, preds = torch.max(outputs, 1)
                loss = criterion(outputs, labels)

                if phase == 'train':
                    loss.backward()
                    optimizer.step()

            running_loss += loss.item() * inputs.size(0)
            running_corrects += torch.sum(preds == labels.data)

        epoch_loss = running_loss / dataset_sizes[phase]
        epoch_acc = running_corrects.double() / dataset_sizes[phase]

        print('{} Loss: {:.4f} Acc: {:.4f}'.format(phase, epoch_loss, epoch_acc))

correct = 0
total = 0
with torch.no_grad():
    for data in dataloaders['val']:
        images, labels = data
        outputs = model(images)
        _, predicted = torch.max(outputs.data, 1)
        total += labels.size(0)
        correct += (predicted == labels).sum().item()

print('Accuracy of the network on the test images: %d %%' % (100 * correct / total))

image = Image.open(os.path.join(data_dir, "test.jpg"))
image_tensor = data_transforms['val'](image).to(device)
image_tensor = image_tensor.unsqueeze(0)
output = model(image_tensor)
_, pred = torch.max(output, 1)
print("prediction:", pred.item())
print("modules:", type(model).__module__, type(image_datasets['train']).__module__)
"""


def _make_image_folder(root):
    """train/ and val/ with classes ants (reddish) and bees (bluish), 8 + 4 images each."""
    rng = np.random.default_rng(0)
    for split, count in (("train", 8), ("val", 4)):
        for label, (cls, base) in enumerate((("ants", (200, 40, 40)), ("bees", (40, 40, 200)))):
            folder = root / split / cls
            folder.mkdir(parents=True)
            for i in range(count):
                pixels = np.clip(np.array(base) + rng.integers(-40, 40, (32, 32, 3)), 0, 255)
                ext = "png" if i % 2 == 0 else "jpg"
                Image.fromarray(pixels.astype(np.uint8)).save(folder / f"img{i}.{ext}")
    Image.fromarray(np.full((40, 48, 3), 128, np.uint8)).save(root / "test.jpg")


def test_seed_transfer_learning_program_runs_on_ember(tmp_path):
    data_dir = tmp_path / "hymenoptera_data"
    _make_image_folder(data_dir)
    (tmp_path / "seed.py").write_text(textwrap.dedent(PROGRAM))
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.run([sys.executable, "-m", "ember.run", str(tmp_path / "seed.py"),
                           str(data_dir)], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    train_loss = float(lines[0].split()[2])
    assert lines[0].startswith("train Loss:") and np.isfinite(train_loss)
    assert lines[1].startswith("val Loss:") and np.isfinite(float(lines[1].split()[2]))
    accuracy = float(lines[1].split()[4])
    assert 0.0 <= accuracy <= 1.0
    assert lines[2].startswith("Accuracy of the network on the test images:")
    assert lines[3] in ("prediction: 0", "prediction: 1")
    assert lines[4] == "modules: ember.vision.models.resnet ember.vision.datasets.folder"
