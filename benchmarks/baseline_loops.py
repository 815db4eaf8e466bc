"""The comparison side of the benchmark: GAN loops written the way a typical course notebook writes them.

Nothing here uses ganlib. Each loop reads its data through a ``torch.utils.data.DataLoader``
whose CPU transforms (``ToTensor``, ``Normalize``, ``RandomHorizontalFlip``) run per image
on every step, moves each batch to the device, builds noise and one-hot labels inside the
loop, uses plain ``torch.optim.Adam`` and reads every loss back with ``.item()`` each step
(a device sync) to keep running means, as course loops do for their printouts.

The networks are the course's architectures written out layer by layer; ``bench.py``
checks that each has exactly as many parameters as its ganlib counterpart, and both
sides optimise the same losses with the same batch size and optimizer settings.
"""

from __future__ import annotations

import itertools
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader

# Called after every step with the number of steps done; returning True ends the loop.
StepHook = Callable[[int], bool]


# --- data ---------------------------------------------------------------------------------


def mnist_loader(root: str, batch_size: int, *, normalize: bool, workers: int = 0) -> DataLoader:
    """MNIST through torchvision with per-image CPU transforms, shuffled, as course notebooks load it."""
    from torchvision import datasets, transforms

    steps = [transforms.ToTensor()]  # PIL image -> float tensor in [0, 1]
    if normalize:  # [0, 1] -> [-1, 1] for tanh generators
        steps.append(transforms.Normalize((0.5,), (0.5,)))
    data = datasets.MNIST(root, train=True, download=False, transform=transforms.Compose(steps))
    return DataLoader(data, batch_size=batch_size, shuffle=True, num_workers=workers)


def cifar_folder_loader(folder: str, batch_size: int, *, workers: int = 2) -> DataLoader:
    """CIFAR-10 read from an image-folder tree of JPEGs, decoded and flipped on the CPU per image."""
    from torchvision import datasets, transforms

    transform = transforms.Compose([
        transforms.RandomHorizontalFlip(),
        transforms.ToTensor(),
        transforms.Normalize((0.5, 0.5, 0.5), (0.5, 0.5, 0.5)),
    ])
    data = datasets.ImageFolder(folder, transform=transform)
    return DataLoader(data, batch_size=batch_size, shuffle=True, num_workers=workers,
                      persistent_workers=workers > 0)


def forever(loader: DataLoader):
    """Epoch after epoch of ``loader`` (course loops nest ``for epoch`` around ``for batch``)."""
    for _epoch in itertools.count():
        yield from loader


# --- helpers in course style ----------------------------------------------------------------


def get_noise(n_samples: int, z_dim: int, device: str | torch.device) -> torch.Tensor:
    return torch.randn(n_samples, z_dim, device=device)


def get_one_hot_labels(labels: torch.Tensor, n_classes: int) -> torch.Tensor:
    return F.one_hot(labels, n_classes)


def combine_vectors(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return torch.cat((x.float(), y.float()), 1)


def weights_init(m: nn.Module) -> None:
    if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
        torch.nn.init.normal_(m.weight, 0.0, 0.02)
        torch.nn.init.zeros_(m.bias)
    if isinstance(m, nn.BatchNorm2d):
        torch.nn.init.normal_(m.weight, 1.0, 0.02)
        torch.nn.init.zeros_(m.bias)


# --- MLP GAN (notebook 01) ---------------------------------------------------------------------


def get_generator_block(input_dim: int, output_dim: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(input_dim, output_dim), nn.BatchNorm1d(output_dim), nn.ReLU(inplace=True))


class Generator(nn.Module):
    def __init__(self, z_dim: int = 64, im_dim: int = 784, hidden_dim: int = 128) -> None:
        super().__init__()
        self.gen = nn.Sequential(
            get_generator_block(z_dim, hidden_dim),
            get_generator_block(hidden_dim, hidden_dim * 2),
            get_generator_block(hidden_dim * 2, hidden_dim * 4),
            get_generator_block(hidden_dim * 4, hidden_dim * 8),
            nn.Linear(hidden_dim * 8, im_dim),
            nn.Sigmoid(),
        )

    def forward(self, noise: torch.Tensor) -> torch.Tensor:
        return self.gen(noise)


def get_discriminator_block(input_dim: int, output_dim: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(input_dim, output_dim), nn.LeakyReLU(0.2, inplace=True))


class Discriminator(nn.Module):
    def __init__(self, im_dim: int = 784, hidden_dim: int = 128) -> None:
        super().__init__()
        self.disc = nn.Sequential(
            get_discriminator_block(im_dim, hidden_dim * 4),
            get_discriminator_block(hidden_dim * 4, hidden_dim * 2),
            get_discriminator_block(hidden_dim * 2, hidden_dim),
            nn.Linear(hidden_dim, 1),
        )

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return self.disc(image)


def get_disc_loss(gen, disc, criterion, real, num_images, z_dim, device):
    fake_noise = get_noise(num_images, z_dim, device=device)
    fake = gen(fake_noise)
    disc_fake_pred = disc(fake.detach())
    disc_fake_loss = criterion(disc_fake_pred, torch.zeros_like(disc_fake_pred))
    disc_real_pred = disc(real)
    disc_real_loss = criterion(disc_real_pred, torch.ones_like(disc_real_pred))
    return (disc_fake_loss + disc_real_loss) / 2


def get_gen_loss(gen, disc, criterion, num_images, z_dim, device):
    fake_noise = get_noise(num_images, z_dim, device=device)
    fake = gen(fake_noise)
    disc_fake_pred = disc(fake)
    return criterion(disc_fake_pred, torch.ones_like(disc_fake_pred))


def train_mlp_gan(gen, disc, gen_opt, disc_opt, dataloader, z_dim, device, n_steps, hook=None):
    """The MLP GAN loop; returns the number of images it trained on."""
    criterion = nn.BCEWithLogitsLoss()
    mean_generator_loss = mean_discriminator_loss = 0.0
    cur_step = seen = 0
    for real, _ in forever(dataloader):
        cur_batch_size = len(real)
        real = real.view(cur_batch_size, -1).to(device)  # flatten the image

        disc_opt.zero_grad()
        disc_loss = get_disc_loss(gen, disc, criterion, real, cur_batch_size, z_dim, device)
        disc_loss.backward()
        disc_opt.step()

        gen_opt.zero_grad()
        gen_loss = get_gen_loss(gen, disc, criterion, cur_batch_size, z_dim, device)
        gen_loss.backward()
        gen_opt.step()

        mean_discriminator_loss += disc_loss.item() / 500  # running means for the printout
        mean_generator_loss += gen_loss.item() / 500
        cur_step += 1
        seen += cur_batch_size
        if cur_step >= n_steps or (hook is not None and hook(cur_step)):
            return seen


# --- conditional DCGAN (notebook 03, one-hot variant) -----------------------------------------------


class CondGenerator(nn.Module):
    def __init__(self, input_dim: int = 74, im_chan: int = 1, hidden_dim: int = 64) -> None:
        super().__init__()
        self.input_dim = input_dim
        self.gen = nn.Sequential(
            self.make_gen_block(input_dim, hidden_dim * 4, kernel_size=3, stride=2),
            self.make_gen_block(hidden_dim * 4, hidden_dim * 2, kernel_size=4, stride=1),
            self.make_gen_block(hidden_dim * 2, hidden_dim, kernel_size=3, stride=2),
            self.make_gen_block(hidden_dim, im_chan, kernel_size=4, stride=2, final_layer=True),
        )

    def make_gen_block(self, input_channels, output_channels, kernel_size=3, stride=2, final_layer=False):
        if final_layer:
            return nn.Sequential(nn.ConvTranspose2d(input_channels, output_channels, kernel_size, stride), nn.Tanh())
        return nn.Sequential(
            nn.ConvTranspose2d(input_channels, output_channels, kernel_size, stride),
            nn.BatchNorm2d(output_channels),
            nn.ReLU(inplace=True),
        )

    def forward(self, noise_and_labels: torch.Tensor) -> torch.Tensor:
        return self.gen(noise_and_labels.view(len(noise_and_labels), self.input_dim, 1, 1))


class CondDiscriminator(nn.Module):
    def __init__(self, im_chan: int = 11, hidden_dim: int = 64) -> None:
        super().__init__()
        self.disc = nn.Sequential(
            self.make_disc_block(im_chan, hidden_dim),
            self.make_disc_block(hidden_dim, hidden_dim * 2),
            self.make_disc_block(hidden_dim * 2, 1, final_layer=True),
        )

    def make_disc_block(self, input_channels, output_channels, kernel_size=4, stride=2, final_layer=False):
        if final_layer:
            return nn.Sequential(nn.Conv2d(input_channels, output_channels, kernel_size, stride))
        return nn.Sequential(
            nn.Conv2d(input_channels, output_channels, kernel_size, stride),
            nn.BatchNorm2d(output_channels),
            nn.LeakyReLU(0.2, inplace=True),
        )

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return self.disc(image).view(len(image), -1)


def train_cond_gan(gen, disc, gen_opt, disc_opt, dataloader, z_dim, n_classes, device, n_steps, hook=None):
    """The one-hot conditional DCGAN loop; returns the number of images it trained on."""
    criterion = nn.BCEWithLogitsLoss()
    mean_generator_loss = mean_discriminator_loss = 0.0
    cur_step = seen = 0
    for real, labels in forever(dataloader):
        cur_batch_size = len(real)
        real = real.to(device)
        one_hot_labels = get_one_hot_labels(labels.to(device), n_classes)
        image_one_hot_labels = one_hot_labels[:, :, None, None].repeat(1, 1, 28, 28)

        disc_opt.zero_grad()
        fake_noise = get_noise(cur_batch_size, z_dim, device=device)
        fake = gen(combine_vectors(fake_noise, one_hot_labels))
        disc_fake_pred = disc(combine_vectors(fake.detach(), image_one_hot_labels))
        disc_real_pred = disc(combine_vectors(real, image_one_hot_labels))
        disc_fake_loss = criterion(disc_fake_pred, torch.zeros_like(disc_fake_pred))
        disc_real_loss = criterion(disc_real_pred, torch.ones_like(disc_real_pred))
        disc_loss = (disc_fake_loss + disc_real_loss) / 2
        disc_loss.backward()
        disc_opt.step()

        gen_opt.zero_grad()
        fake_noise = get_noise(cur_batch_size, z_dim, device=device)
        fake = gen(combine_vectors(fake_noise, one_hot_labels))
        disc_fake_pred = disc(combine_vectors(fake, image_one_hot_labels))
        gen_loss = criterion(disc_fake_pred, torch.ones_like(disc_fake_pred))
        gen_loss.backward()
        gen_opt.step()

        mean_discriminator_loss += disc_loss.item() / 500
        mean_generator_loss += gen_loss.item() / 500
        cur_step += 1
        seen += cur_batch_size
        if cur_step >= n_steps or (hook is not None and hook(cur_step)):
            return seen


# --- ACGAN with WGAN-GP on CIFAR-10 (notebook 04) ---------------------------------------------------


class CriticNet(nn.Module):
    """Eight conv + LayerNorm + LeakyReLU layers, a 4x4 max-pool, heads fc1 (critic) and fc10 (class)."""

    def __init__(self, width: int = 196, n_classes: int = 10) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, width, 3, padding=1, stride=1)
        self.ln1 = nn.LayerNorm((width, 32, 32))
        self.conv2 = nn.Conv2d(width, width, 3, padding=1, stride=2)
        self.ln2 = nn.LayerNorm((width, 16, 16))
        self.conv3 = nn.Conv2d(width, width, 3, padding=1, stride=1)
        self.ln3 = nn.LayerNorm((width, 16, 16))
        self.conv4 = nn.Conv2d(width, width, 3, padding=1, stride=2)
        self.ln4 = nn.LayerNorm((width, 8, 8))
        self.conv5 = nn.Conv2d(width, width, 3, padding=1, stride=1)
        self.ln5 = nn.LayerNorm((width, 8, 8))
        self.conv6 = nn.Conv2d(width, width, 3, padding=1, stride=1)
        self.ln6 = nn.LayerNorm((width, 8, 8))
        self.conv7 = nn.Conv2d(width, width, 3, padding=1, stride=1)
        self.ln7 = nn.LayerNorm((width, 8, 8))
        self.conv8 = nn.Conv2d(width, width, 3, padding=1, stride=2)
        self.ln8 = nn.LayerNorm((width, 4, 4))
        self.pool = nn.MaxPool2d(4, 4)
        self.fc1 = nn.Linear(width, 1)
        self.fc10 = nn.Linear(width, n_classes)

    def forward(self, x):
        x = F.leaky_relu(self.ln1(self.conv1(x)), 0.1)
        x = F.leaky_relu(self.ln2(self.conv2(x)), 0.1)
        x = F.leaky_relu(self.ln3(self.conv3(x)), 0.1)
        x = F.leaky_relu(self.ln4(self.conv4(x)), 0.1)
        x = F.leaky_relu(self.ln5(self.conv5(x)), 0.1)
        x = F.leaky_relu(self.ln6(self.conv6(x)), 0.1)
        x = F.leaky_relu(self.ln7(self.conv7(x)), 0.1)
        x = F.leaky_relu(self.ln8(self.conv8(x)), 0.1)
        x = self.pool(x)
        x = x.view(x.size(0), -1)
        return self.fc1(x), self.fc10(x)


class GeneratorNet(nn.Module):
    """fc 128 -> 196x4x4, then transposed convs 4->8->16->32 between 3x3 convs, tanh output."""

    def __init__(self, z_dim: int = 128, width: int = 196) -> None:
        super().__init__()
        self.width = width
        self.fc1 = nn.Linear(z_dim, width * 4 * 4)
        self.bn0 = nn.BatchNorm1d(width * 4 * 4)
        self.conv1 = nn.ConvTranspose2d(width, width, 4, padding=1, stride=2)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = nn.Conv2d(width, width, 3, padding=1)
        self.bn2 = nn.BatchNorm2d(width)
        self.conv3 = nn.Conv2d(width, width, 3, padding=1)
        self.bn3 = nn.BatchNorm2d(width)
        self.conv4 = nn.Conv2d(width, width, 3, padding=1)
        self.bn4 = nn.BatchNorm2d(width)
        self.conv5 = nn.ConvTranspose2d(width, width, 4, padding=1, stride=2)
        self.bn5 = nn.BatchNorm2d(width)
        self.conv6 = nn.Conv2d(width, width, 3, padding=1)
        self.bn6 = nn.BatchNorm2d(width)
        self.conv7 = nn.ConvTranspose2d(width, width, 4, padding=1, stride=2)
        self.bn7 = nn.BatchNorm2d(width)
        self.conv8 = nn.Conv2d(width, 3, 3, padding=1)

    def forward(self, x):
        x = F.relu(self.bn0(self.fc1(x))).view(-1, self.width, 4, 4)
        x = F.relu(self.bn1(self.conv1(x)))
        x = F.relu(self.bn2(self.conv2(x)))
        x = F.relu(self.bn3(self.conv3(x)))
        x = F.relu(self.bn4(self.conv4(x)))
        x = F.relu(self.bn5(self.conv5(x)))
        x = F.relu(self.bn6(self.conv6(x)))
        x = F.relu(self.bn7(self.conv7(x)))
        return torch.tanh(self.conv8(x))


def calc_gradient_penalty(netD, real_data, fake_data, device):
    batch_size = real_data.size(0)
    alpha = torch.rand(batch_size, 1, 1, 1, device=device)  # one mixing weight per image
    interpolates = (alpha * real_data + (1 - alpha) * fake_data).requires_grad_(True)
    disc_interpolates, _ = netD(interpolates)
    gradients = torch.autograd.grad(outputs=disc_interpolates, inputs=interpolates,
                                    grad_outputs=torch.ones_like(disc_interpolates),
                                    create_graph=True, retain_graph=True, only_inputs=True)[0]
    gradients = gradients.view(batch_size, -1)
    return ((gradients.norm(2, dim=1) - 1) ** 2).mean()


def make_class_noise(batch_size: int, n_z: int, n_classes: int) -> tuple[np.ndarray, np.ndarray]:
    """Noise on the host with numpy; the first n_classes entries hold the one-hot class."""
    label = np.random.randint(0, n_classes, batch_size)
    noise = np.random.normal(0, 1, (batch_size, n_z))
    label_onehot = np.zeros((batch_size, n_classes))
    label_onehot[np.arange(batch_size), label] = 1
    noise[np.arange(batch_size), :n_classes] = label_onehot
    return noise.astype(np.float32), label


def train_acgan_wgan_gp(aG, aD, optimizer_g, optimizer_d, trainloader, n_z, n_classes, device, n_steps,
                        lambda_gp=10.0, hook=None):
    """The ACGAN + WGAN-GP loop (critic step, then generator step); returns images trained on."""
    criterion = nn.CrossEntropyLoss()
    loss_stats = {"gp": [], "w": [], "d_class": [], "g": [], "acc": []}
    cur_step = seen = 0
    for X_train_batch, Y_train_batch in forever(trainloader):
        batch_size = X_train_batch.shape[0]
        if batch_size < trainloader.batch_size:  # skip the short last batch of an epoch
            continue
        # train the critic
        for p in aD.parameters():
            p.requires_grad_(True)
        aD.zero_grad()
        noise, label = make_class_noise(batch_size, n_z, n_classes)
        noise = torch.from_numpy(noise).to(device)
        fake_label = torch.from_numpy(label).to(device)
        with torch.no_grad():
            fake_data = aG(noise)
        disc_fake_source, disc_fake_class = aD(fake_data)
        disc_fake_source = disc_fake_source.mean()
        disc_fake_class = criterion(disc_fake_class, fake_label)
        real_data = X_train_batch.to(device)
        real_label = Y_train_batch.to(device)
        disc_real_source, disc_real_class = aD(real_data)
        prediction = disc_real_class.data.max(1)[1]
        accuracy = float(prediction.eq(real_label.data).sum()) / float(batch_size) * 100.0
        disc_real_source = disc_real_source.mean()
        disc_real_class = criterion(disc_real_class, real_label)
        gradient_penalty = calc_gradient_penalty(aD, real_data, fake_data, device)
        disc_cost = (disc_fake_source - disc_real_source + lambda_gp * gradient_penalty
                     + disc_real_class + disc_fake_class)
        disc_cost.backward()
        optimizer_d.step()

        # train the generator, critic frozen
        for p in aD.parameters():
            p.requires_grad_(False)
        aG.zero_grad()
        noise, label = make_class_noise(batch_size, n_z, n_classes)
        noise = torch.from_numpy(noise).to(device)
        fake_label = torch.from_numpy(label).to(device)
        fake_data = aG(noise)
        gen_source, gen_class = aD(fake_data)
        gen_cost = -gen_source.mean() + criterion(gen_class, fake_label)
        gen_cost.backward()
        optimizer_g.step()

        loss_stats["gp"].append(gradient_penalty.item())
        loss_stats["w"].append((disc_real_source - disc_fake_source).item())
        loss_stats["d_class"].append((disc_real_class + disc_fake_class).item())
        loss_stats["g"].append(gen_cost.item())
        loss_stats["acc"].append(accuracy)
        cur_step += 1
        seen += batch_size
        if cur_step >= n_steps or (hook is not None and hook(cur_step)):
            for p in aD.parameters():
                p.requires_grad_(True)
            return seen
